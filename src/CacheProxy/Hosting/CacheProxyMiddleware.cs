using CacheProxy.Caching;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Hosting;

internal sealed class CacheProxyMarker;

/// <summary>
/// The one middleware <c>UseCacheProxy()</c> adds. Every request gets, in this order: a correlation id; the
/// management-port gate; a log scope with the id, the id in the request headers for upstream, and error shaping
/// (problem+json) around the cache and what is behind it. A fresh hit in the memory tier — the common case — is
/// answered right after the gate, without the scope, the request header and the error-shaping frame
/// (docs/performance.md).
/// </summary>
internal sealed class CacheProxyMiddleware(RequestDelegate next, CacheEngine engine, CorrelationIds correlation,
    ManagementPortGate gate, ErrorShaping errors)
{
    private readonly RequestDelegate _cache = context => engine.HandleAsync(context, next);

    public Task InvokeAsync(HttpContext context)
    {
        var id = correlation.Assign(context);
        var admitted = gate.Admits(context);
        if (admitted && engine.TryServeFreshHit(context) is { } hit)
        {
            return errors.Observe(context, hit);
        }
        return InvokeInScopeAsync(context, id, admitted);
    }

    private async Task InvokeInScopeAsync(HttpContext context, ICorrelationIdFeature id, bool admitted)
    {
        using (correlation.Scope(id))
        {
            if (!admitted)
            {
                gate.Refuse(context);
                return;
            }
            CorrelationIds.Forward(context, id);
            await errors.InvokeAsync(context, _cache);
        }
    }
}
