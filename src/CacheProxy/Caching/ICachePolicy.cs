namespace CacheProxy;

/// <summary>
/// A caching rule that runs for every cached request, in three phases. Register implementations with
/// <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;ICachePolicy, MyPolicy&gt;())</c>; they run in
/// registration order after the built-in policy, which applies <c>CacheProxy:Routes</c> (<c>Enabled</c>,
/// <c>Ttl</c>). Policies can only narrow what RFC 9111 allows: nothing here makes a <c>no-store</c> or
/// <c>private</c> response shared. Each phase a policy does not implement does nothing.
/// </summary>
/// <remarks>
/// The request and serve-from-cache phases run on the cache-hit path: a policy that decides from what the context
/// holds returns a completed <see cref="ValueTask"/> (<c>default</c>), which costs the hit nothing; one that awaits
/// makes every hit it runs for wait with it (docs/extensibility.md). A policy may be asked more than once for one
/// request (a hit answered before routing is asked again after routing when the first answer refused it), so keep
/// its decisions free of side effects.
/// </remarks>
public interface ICachePolicy
{
    /// <summary>
    /// Request phase, before the cache is consulted: may set <see cref="CacheContext.EnableCaching"/>,
    /// <see cref="CacheContext.AllowCacheLookup"/> or <see cref="CacheContext.AllowCacheStorage"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>A task that completes when the policy has decided.</returns>
    ValueTask OnRequestAsync(CacheContext context, CancellationToken cancellationToken) => default;

    /// <summary>
    /// Serve-from-cache phase, when a stored response was found (<see cref="CacheContext.StoredResponse"/>): may set
    /// <see cref="CacheContext.RequireRevalidation"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>A task that completes when the policy has decided.</returns>
    ValueTask OnServeFromCacheAsync(CacheContext context, CancellationToken cancellationToken) => default;

    /// <summary>
    /// Response phase, when the upstream response's status and headers are known and before any of it reaches the
    /// client: may set <see cref="CacheContext.AllowCacheStorage"/> or <see cref="CacheContext.FreshnessLifetime"/>.
    /// </summary>
    /// <param name="context">The request's cache context.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <returns>A task that completes when the policy has decided.</returns>
    ValueTask OnResponseAsync(CacheContext context, CancellationToken cancellationToken) => default;
}
