using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;

namespace CacheProxy.Storage;

/// <summary>
/// Lets cache store implementations (CacheProxy.Redis, or your own <c>ISharedCacheStore</c>) report on the shared
/// <c>CacheProxy</c> meter: <c>cacheproxy.store.duration</c> and <c>cacheproxy.store.failures</c> by tier and
/// operation. Resolve it from DI.
/// </summary>
public sealed class CacheStoreTelemetry
{
    private readonly CacheProxyMetrics _metrics;

    internal CacheStoreTelemetry(CacheProxyMetrics metrics) => _metrics = metrics;

    /// <summary>Gets the <c>CacheProxy</c> meter, for a store's own instruments (names must start with <c>cacheproxy.</c>).</summary>
    public Meter Meter => _metrics.Meter;

    /// <summary>Records one store operation; a failure is also counted as an error of category store.</summary>
    /// <param name="tier">A fixed tier name, e.g. <c>redis</c>.</param>
    /// <param name="operation">A fixed operation name: get, set, remove, publish.</param>
    /// <param name="elapsed">How long it took.</param>
    /// <param name="failed">Whether it failed (timed out, refused, broken circuit excluded).</param>
    public void RecordOperation(string tier, string operation, TimeSpan elapsed, bool failed)
    {
        _metrics.StoreOperation(tier, operation, elapsed, failed);
        if (failed)
        {
            _metrics.Error(ErrorCategory.Store);
        }
    }
}
