using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;

namespace CacheProxy.Caching;

/// <summary>
/// Reuses <see cref="CacheContext"/>s: every cached request needs one, and a cache hit allocates nothing for it
/// (docs/performance.md). A context goes back when the engine is done with its request.
/// </summary>
internal sealed class CacheContextPool(Diagnostics.RequestMetricDimensions? dimensions = null)
{
    private readonly Diagnostics.RequestMetricDimensions? _dimensions = dimensions is { Names.Count: > 0 } ? dimensions : null;
    private readonly ObjectPool<CacheContext> _pool = new DefaultObjectPool<CacheContext>(new Policy(), Environment.ProcessorCount * 8);

    /// <summary>A context for a request routed to <paramref name="routeId"/>.</summary>
    public CacheContext Rent(HttpContext context, Endpoint endpoint, string routeId)
    {
        var cache = _pool.Get();
        cache.Start(context, endpoint, routeId);
        if (_dimensions is not null)
        {
            cache.MetricKey = _dimensions.KeyFor(context, routeId); // the app's dimensions, once per request
        }
        return cache;
    }

    public void Return(CacheContext context) => _pool.Return(context);

    private sealed class Policy : IPooledObjectPolicy<CacheContext>
    {
        public CacheContext Create() => new();

        public bool Return(CacheContext obj)
        {
            obj.Reset();
            return true;
        }
    }
}
