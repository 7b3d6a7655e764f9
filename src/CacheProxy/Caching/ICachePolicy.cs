namespace CacheProxy.Caching;

/// <summary>
/// A caching rule that runs for every cached request, in three phases. Register implementations with
/// <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;ICachePolicy, MyPolicy&gt;())</c>; they run in
/// registration order after the built-in policy, which applies <c>CacheProxy:Routes</c> (<c>Enabled</c>,
/// <c>Ttl</c>). Policies can only narrow what RFC 9111 allows: nothing here makes a <c>no-store</c> or
/// <c>private</c> response shared.
/// </summary>
/// <remarks>
/// The methods are synchronous on purpose: they run on the cache-hit path, which never waits (docs/extensibility.md).
/// Decide from what the context holds; work that needs I/O belongs in middleware before <c>UseCacheProxy()</c>. A
/// policy may be asked more than once for one request (a hit answered before routing is asked again after
/// routing when the first answer refused it), so keep its decisions free of side effects.
/// </remarks>
public interface ICachePolicy
{
    /// <summary>
    /// Request phase, before the cache is consulted: may set <see cref="CacheContext.EnableCaching"/>,
    /// <see cref="CacheContext.AllowCacheLookup"/> or <see cref="CacheContext.AllowCacheStorage"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    void OnRequest(CacheContext context)
    {
    }

    /// <summary>
    /// Serve-from-cache phase, when a stored response was found (<see cref="CacheContext.StoredResponse"/>): may set
    /// <see cref="CacheContext.RequireRevalidation"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    void OnServeFromCache(CacheContext context)
    {
    }

    /// <summary>
    /// Response phase, when the upstream response's status and headers are known and before any of it reaches the
    /// client: may set <see cref="CacheContext.AllowCacheStorage"/> or <see cref="CacheContext.FreshnessLifetime"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    void OnResponse(CacheContext context)
    {
    }
}
