using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// Steps (3–7) of <see cref="CacheEngine"/> for a GET or HEAD on the full path: key and directives, lookup and
/// reuse, else — unless the key's last response said it is not to be shared (<see cref="HitForPass"/>) — collapse and fetch.
/// </summary>
internal sealed class CacheReads(CacheKey keys, ReuseLookup lookup, StoredResponses served, BackgroundRefresh refresh,
    FetchCollapser collapser, PassThrough passThrough, HitForPass hitForPass, RefreshAhead refreshAhead)
{
    public async Task ReadAsync(CacheContext context, RequestDelegate next)
    {
        // (3) key and directives (the context comes from the pool with nothing looked up)
        context.ReadRequestDirectives();
        context.Key = keys.Build(context.HttpContext, context.KeyedHeaders, context.KeyQuery);
        if (context.Key is null)
        {
            await passThrough.ForwardAsync(context, next, CacheStatus.UncacheableKey);
            return;
        }
        context.Started = served.HitStart();
        // (4) lookup and reuse
        var reuse = context.AllowCacheLookup ? await lookup.FindAsync(context) : null;
        var reason = context.Lookup.MissReason;
        switch (reuse)
        {
            case Reuse.Fresh or Reuse.MaxStale:
                if (reuse == Reuse.Fresh)
                {
                    refreshAhead.OnFreshHit(context); // near its expiry and asked for often: refreshed before it expires
                }
                await served.ServeAsync(context, reuse == Reuse.Fresh ? Served.Hit : Served.MaxStale);
                return;
            case Reuse.StaleWhileRevalidate when !context.RequestCacheControl.OnlyIfCached:
                refresh.TryStart(context, next); // RFC 5861 §3: serve stale now, refresh once in the background
                await served.ServeAsync(context, Served.StaleWhileRevalidate);
                return;
            case not null:
                reason = context.RequestNoCache ? "request" : "stale";
                break;
        }
        if (context.RequestCacheControl.OnlyIfCached)
        {
            served.NotCached(context);
            return;
        }
        if (reuse is null && hitForPass.Passes(context))
        {
            await passThrough.ForwardAsync(context, next, CacheStatus.HitForPass); // its last response said it is not to be shared
            return;
        }
        // (5–7) collapse, fetch and decide, carry out
        await collapser.FetchAsync(context, next, reason);
    }
}
