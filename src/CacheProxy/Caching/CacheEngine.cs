using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Caching;

/// <summary>
/// The RFC 9111 shared cache in front of YARP. A request's steps, each in the file named:
/// <list type="number">
/// <item>Begin (here): only requests routed to a YARP route are cached; a pooled <see cref="CacheContext"/>;
/// <see cref="ICachePolicy.OnRequest"/> (<see cref="CachePolicies"/>, <c>CacheProxy:Routes</c> first); on the full
/// path, unkeyed request fields removed, keyed on or bypassing (<see cref="RequestScreening"/>).</item>
/// <item>Maintenance (<see cref="MaintenanceServing"/>): while maintenance mode holds for the request, only what is
/// stored answers, fresh or stale; anything else is 503.</item>
/// <item>Method (here): GET and HEAD are read from the cache, unless they carry content (passed through); OPTIONS, TRACE and CONNECT pass through; any other
/// method passes through and invalidates the URL on success (RFC 9111 §4.4). <see cref="PassThrough"/>.</item>
/// <item>Key and directives: <see cref="CacheKey"/> (with <see cref="ICacheKeyCustomizer"/>s), the request's
/// Cache-Control.</item>
/// <item>Lookup (<see cref="CacheLookup"/>): the synchronous tier first when the store has one
/// (<see cref="FreshHits"/>, no async frame), else the store; a Vary rule picks the variant.</item>
/// <item>Reuse (<see cref="ICachePolicy.OnServeFromCache"/>, then <see cref="ReuseRules"/>): fresh or accepted
/// stale → served (<see cref="StoredResponseWriter"/>); within stale-while-revalidate → served and refreshed
/// (<see cref="BackgroundRefresh"/>); only-if-cached → 504.</item>
/// <item>Collapse (<see cref="FetchCollapser"/>): one upstream fetch per key, in this instance and across
/// instances; the others wait and serve what it stored — or the stale response, when it failed and that is allowed.</item>
/// <item>Fetch (<see cref="UpstreamFetch"/>): the stored validators replace the client's (<see cref="Revalidation"/>);
/// at the response's start it decides: a 304 to merge, stale content on failure, or the response passed on and kept
/// when RFC 9111 (<see cref="StorageRules"/>), <see cref="ICachePolicy.OnResponse"/> and the size limit allow, with
/// its tags (<see cref="Invalidation.ITagProvider"/>).</item>
/// <item>Complete: the kept body is stored (<see cref="CacheWriter"/>) or the 304 merged and served; the fetch's
/// followers learn how it ended.</item>
/// </list>
/// docs/architecture.md follows a request through these steps.
/// </summary>
internal sealed class CacheEngine(LastGoodOptions options, TimeProvider time, ILoggerFactory loggers, CacheProxyMetrics metrics,
    CacheContextPool contexts, CachePolicies policies, CacheKey keys, CacheLookup lookup, StoredResponses served,
    FreshHits freshHits, PassThrough passThrough, FetchCollapser collapser, BackgroundRefresh refresh,
    Management.Maintenance maintenance, MaintenanceServing duringMaintenance, RequestScreening screening)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>(1) A context for a request routed to a YARP route, request-phase policies applied; null for any other request.</summary>
    public CacheContext? Begin(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint || endpoint.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return null;
        }
        var cache = contexts.Rent(context, endpoint, route.Config.RouteId);
        policies.OnRequest(cache);
        return cache;
    }

    /// <summary>(4) A fresh hit from the synchronous tier, answered at once (<see cref="FreshHits"/>); null: <see cref="HandleAsync"/>.</summary>
    public Task? TryServeFreshHit(CacheContext context) => freshHits.TryServe(context);

    /// <summary>(1–4) Before routing, a fresh hit a routed GET stamped (<see cref="FreshHits.TryPrepareBeforeRouting"/>); null: routing goes on.</summary>
    public CacheContext? TryPrepareBeforeRouting(HttpContext context) => freshHits.TryPrepareBeforeRouting(context);

    /// <summary>Answers a context <see cref="TryPrepareBeforeRouting"/> gave.</summary>
    public Task ServeFreshHit(CacheContext context) => freshHits.Serve(context);

    /// <summary>(2–8) Every request <see cref="Begin"/> gave a context that was not answered as a fresh hit; takes the context over.</summary>
    public async Task HandleAsync(CacheContext context, RequestDelegate next)
    {
        try
        {
            screening.Apply(context); // not in Begin: a fresh hit forwards nothing (IsPlain guards the fast paths)
            var method = context.HttpContext.Request.Method;
            var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
            if (await screening.RefuseMalformedFramingAsync(context))
            {
                return;
            }
            if (maintenance.Applies(context.HttpContext))
            {
                await (read && context.EnableCaching ? ReadAsync(context, next, closed: true) : duringMaintenance.RefuseAsync(context));
            }
            else if (!context.EnableCaching)
            {
                await passThrough.ForwardAsync(context, next, CacheStatus.PolicyBypass);
            }
            else if (read && context.RequestHasContent)
            {
                // Never answered from, nor stored under, the bodyless key: forwarded as it came (docs/security.md).
                Log.RequestContentBypassed(_logger, method, context.RouteId);
                await passThrough.ForwardAsync(context, next, CacheStatus.RequestContent);
            }
            else if (read)
            {
                await ReadAsync(context, next, closed: false);
            }
            else if (HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method) || HttpMethods.IsConnect(method))
            {
                await passThrough.ForwardAsync(context, next, CacheStatus.OtherMethod);
            }
            else
            {
                await passThrough.ForwardUnsafeAsync(context, next);
            }
        }
        finally
        {
            contexts.Return(context);
        }
    }

    /// <summary>(3–8) A GET or HEAD: key, lookup, reuse, else collapse and fetch.</summary>
    /// <param name="context">The request's context.</param>
    /// <param name="next">YARP's forwarder.</param>
    /// <param name="closed">Maintenance mode holds: nothing goes upstream (<see cref="MaintenanceServing"/>).</param>
    private async Task ReadAsync(CacheContext context, RequestDelegate next, bool closed)
    {
        // (3) key and directives
        context.Looked(default);
        context.ReadRequestDirectives();
        context.Key = keys.Build(context.HttpContext, context.KeyedHeaders);
        if (closed)
        {
            context.Started = time.GetTimestamp();
            await duringMaintenance.ServeAsync(context);
            return;
        }
        if (context.Key is null)
        {
            await passThrough.ForwardAsync(context, next, CacheStatus.UncacheableKey);
            return;
        }
        context.Started = time.GetTimestamp();
        // (4) lookup and reuse
        context.Looked(context.AllowCacheLookup ? await lookup.FindAsync(context) : Lookup.Nothing(context.Key));
        var reason = context.Lookup.MissReason;
        if (context.Lookup.Entry is not null)
        {
            var reuse = policies.DecideReuse(context);
            if (reuse is Reuse.Fresh or Reuse.MaxStale)
            {
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.CacheHit(_logger, context.RouteId, keys.HashFor(context));
                }
                await served.ServeAsync(context, reuse == Reuse.Fresh ? Served.Hit : Served.MaxStale);
                return;
            }
            if (!context.RequestCacheControl.OnlyIfCached && reuse == Reuse.StaleWhileRevalidate)
            {
                refresh.TryStart(context, next); // RFC 5861 §3: serve stale now, refresh once in the background
                await served.ServeAsync(context, Served.StaleWhileRevalidate);
                return;
            }
            reason = context.RequestNoCache ? "request" : "stale";
        }
        if (context.RequestCacheControl.OnlyIfCached)
        {
            NotCached(context);
            return;
        }
        // (5–8) collapse, fetch, complete
        Log.CacheMiss(_logger, reason, context.RouteId, CacheKey.Hash(context.Key));
        await collapser.FetchAsync(context, next, reason);
    }

    /// <summary>RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored; the error shaping answers 504 problem+json.</summary>
    private void NotCached(CacheContext context)
    {
        metrics.Request(context.MetricKey, CacheOutcome.Miss);
        context.HttpContext.Response.Headers[CacheProxyHeaderNames.CacheStatus] = CacheStatus.Value(options.Current.CacheStatusName, CacheStatus.OnlyIfCached);
        context.HttpContext.Features.Set<ICacheProxyErrorFeature>(new CacheProxyErrorFeature(CacheProxyError.NotCached, ErrorCategory.Client, null));
    }
}
