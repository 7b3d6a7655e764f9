using CacheProxy;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>OpenTelemetry registration of CacheProxy, for apps that export by OTLP or any other exporter.</summary>
public static class CacheProxyInstrumentationExtensions
{
    /// <summary>Adds the <c>CacheProxy</c> meter and those of its packages (<c>CacheProxy.*</c>: <c>CacheProxy.Redis</c>).</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddCacheProxyInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(CacheProxyTelemetry.MeterName, CacheProxyTelemetry.MeterName + ".*");
    }

    /// <summary>Adds the <c>CacheProxy</c> activity source (lookup, store, revalidation and refresh spans).</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddCacheProxyInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(CacheProxyTelemetry.ActivitySourceName);
    }
}
