using System.Diagnostics.Metrics;

namespace CacheProxy.Redis;

/// <summary>
/// The Redis tier's own meter, <c>CacheProxy.Redis</c>, from the app's <see cref="IMeterFactory"/>: its gauges
/// (<c>cacheproxy.redis.connected</c>, <c>cacheproxy.redis.breaker_state</c>, <c>cacheproxy.invalidation.disconnected</c>).
/// Its operations are counted on the core's instruments through <see cref="Storage.CacheStoreTelemetry"/>.
/// </summary>
internal sealed class RedisMeter(IMeterFactory meters)
{
    public const string Name = "CacheProxy.Redis";

    public Meter Meter { get; } = meters.Create(Name, typeof(RedisMeter).Assembly.GetName().Version?.ToString());
}
