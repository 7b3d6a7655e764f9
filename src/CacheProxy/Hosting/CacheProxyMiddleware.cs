using CacheProxy.Caching;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Hosting;

internal sealed class CacheProxyMarker;

internal sealed class CacheProxyMiddleware(RequestDelegate next, CacheEngine engine)
{
    public Task InvokeAsync(HttpContext context) => engine.HandleAsync(context, next);
}
