using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;

namespace CacheProxy.Storage;

/// <summary>
/// Lets cache store implementations (CacheProxy.Redis, or your own <c>ISharedCacheStore</c>) report their operations
/// on CacheProxy's instruments: <c>cacheproxy.store.duration</c> and <c>cacheproxy.store.failures</c> by tier and
/// operation, and failures in <c>cacheproxy.errors</c>. Resolve it from DI. A store's instruments of its own belong on
/// a meter of its own from <see cref="System.Diagnostics.Metrics.IMeterFactory"/>, named <c>CacheProxy.*</c> so that
/// <c>AddCacheProxyInstrumentation</c> and the dashboard include it.
/// </summary>
public sealed class CacheStoreTelemetry
{
    private readonly CacheProxyMetrics _metrics;

    internal CacheStoreTelemetry(CacheProxyMetrics metrics) => _metrics = metrics;

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
