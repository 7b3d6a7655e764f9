namespace CacheProxy;

/// <summary>Names under which CacheProxy publishes its telemetry.</summary>
public static class CacheProxyTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of every CacheProxy instrument.</summary>
    public const string MeterName = "CacheProxy";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of CacheProxy spans.</summary>
    public const string ActivitySourceName = "CacheProxy";

    internal static readonly string Version = typeof(CacheProxyTelemetry).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    internal static readonly System.Diagnostics.ActivitySource ActivitySource = new(ActivitySourceName, Version);
}
