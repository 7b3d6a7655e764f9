using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// The rest of the pipeline behind <c>UseCacheProxy()</c> (YARP), as its middleware was given it: what a background
/// request started from a hit answered before or without it (<see cref="RefreshAhead"/>) is forwarded through.
/// </summary>
internal sealed class ProxyPipeline
{
    private RequestDelegate? _next;

    /// <summary>The delegate, once the middleware was built; null before.</summary>
    public RequestDelegate? Next => Volatile.Read(ref _next);

    public void Set(RequestDelegate next) => Volatile.Write(ref _next, next);
}
