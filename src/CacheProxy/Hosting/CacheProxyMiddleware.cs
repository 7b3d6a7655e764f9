using CacheProxy.Caching;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
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
internal sealed class CacheProxyMiddleware
{
    private static readonly Func<HttpContext, (CacheEngine Engine, CacheContext? Cache, RequestDelegate Next), Task> Cached =
        static (context, state) => state.Cache is null ? state.Next(context) : state.Engine.HandleAsync(state.Cache, state.Next);

    private readonly RequestDelegate next;
    private readonly CacheEngine engine;
    private readonly CorrelationIds correlation;
    private readonly ManagementPortGate gate;
    private readonly ErrorShaping errors;

    /// <summary>The full path for a context the fresh-hit path gave back after its policies awaited: made once, not per request.</summary>
    private readonly Func<CacheContext, Task> _fullPath;

    public CacheProxyMiddleware(RequestDelegate next, CacheEngine engine, CorrelationIds correlation, ManagementPortGate gate, ErrorShaping errors,
        ProxyPipeline pipeline)
    {
        this.next = next;
        pipeline.Set(next); // what a refresh ahead started from a hit forwards through
        this.engine = engine;
        this.correlation = correlation;
        this.gate = gate;
        this.errors = errors;
        _fullPath = cache => InvokeInScopeAsync(cache.HttpContext, cache.HttpContext.Features.Get<ICorrelationIdFeature>()!, cache);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var id = correlation.Assign(context);
        if (!gate.Admits(context))
        {
            using (correlation.Scope(id))
            {
                gate.Refuse(context);
            }
            return Task.CompletedTask;
        }
        var begun = engine.BeginAsync(context); // null: not a proxied route, the app's own endpoint
        if (!begun.IsCompletedSuccessfully)
        {
            return BegunAsync(begun, context, id);
        }
        var cache = begun.Result;
        if (cache is not null && engine.TryServeFreshHit(cache, _fullPath) is { } hit)
        {
            return errors.Observe(context, hit);
        }
        return InvokeInScopeAsync(context, id, cache);
    }

    /// <summary>A request whose request-phase policies awaited.</summary>
    private async Task BegunAsync(ValueTask<CacheContext?> begun, HttpContext context, ICorrelationIdFeature id)
    {
        var cache = await begun;
        if (cache is not null && engine.TryServeFreshHit(cache, _fullPath) is { } hit)
        {
            await errors.Observe(context, hit);
            return;
        }
        await InvokeInScopeAsync(context, id, cache);
    }

    private async Task InvokeInScopeAsync(HttpContext context, ICorrelationIdFeature id, CacheContext? cache)
    {
        if (cache is null && context.Features.Get<Esi.EsiFragmentFeature>() is { } fragment)
        {
            fragment.NotProxied = true; // an include reaches proxied routes only, never the app's own endpoints
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        using (correlation.Scope(id))
        {
            CorrelationIds.Forward(context, id);
            await errors.InvokeAsync(context, Cached, (engine, cache, next));
        }
    }
}
