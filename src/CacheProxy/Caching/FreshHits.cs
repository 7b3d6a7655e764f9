using CacheProxy.Diagnostics;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Caching;

/// <summary>
/// The common case, step (4) of <see cref="CacheEngine"/> done synchronously: a GET or HEAD whose fresh response the
/// store's synchronous tier holds (<see cref="ISynchronousCacheStore"/>), answered without async frames, lookup span
/// or request log scope — after routing, or before it (<see cref="Configuration.CacheProxyOptions.ServeHitsBeforeRouting"/>). Every
/// other request gets null and takes the full path; so does every request while a listener of CacheProxy spans wants
/// to see lookups.
/// </summary>
internal sealed class FreshHits(CacheContextPool contexts, CachePolicies policies, CacheLookup lookup, StoredResponses served,
    RequestScreening screening, RefreshAhead refreshAhead, RouteKeying keying, EarlyHits? earlyHits = null)
{
    /// <summary>
    /// After routing: serves the request of <paramref name="context"/> and takes the context over, or null. When the
    /// serve-from-cache policies await, the task returned waits for them and then serves — or, when they refused the
    /// stored response, runs <paramref name="otherwise"/> (the full path) with the context.
    /// </summary>
    public Task? TryServe(CacheContext context, Func<CacheContext, Task> otherwise)
    {
        var http = context.HttpContext;
        if (!Open(http) || !context.EnableCaching || !context.AllowCacheLookup || !context.ReadRequestDirectives() || keying.NeedsFullPath(context))
        {
            return null;
        }
        context.Started = served.HitStart();
        if (!lookup.TryFind(http, out var found))
        {
            return null;
        }
        context.Key = found.FetchKey;
        context.Looked(found);
        var reuse = policies.DecideReuseAsync(context);
        if (!reuse.IsCompletedSuccessfully)
        {
            return ServeWhenDecidedAsync(reuse, context, otherwise);
        }
        return reuse.Result == Reuse.Fresh ? ServeRouted(context) : null;
    }

    private async Task ServeWhenDecidedAsync(ValueTask<Reuse> reuse, CacheContext context, Func<CacheContext, Task> otherwise)
    {
        Reuse decided;
        try
        {
            decided = await reuse;
        }
        catch
        {
            contexts.Return(context);
            throw;
        }
        await (decided == Reuse.Fresh ? ServeRouted(context) : otherwise(context));
    }

    private Task ServeRouted(CacheContext context)
    {
        if (HttpMethods.IsGet(context.HttpContext.Request.Method))
        {
            earlyHits?.Stamp(context.Lookup.Entry!, context.Endpoint); // a routed GET: later ones for this entry may skip routing
        }
        return Serve(context);
    }

    /// <summary>
    /// Before routing: a context for a GET whose fresh response a routed GET stamped for the current endpoints
    /// (<see cref="EarlyHits"/>), with the endpoint set as routing would have; <see cref="Serve"/> answers it. Null,
    /// and nothing changed, when routing must run. Synchronous unless a policy awaits.
    /// </summary>
    public ValueTask<CacheContext?> TryPrepareBeforeRoutingAsync(HttpContext http)
    {
        if (earlyHits is null || !HttpMethods.IsGet(http.Request.Method) || !Open(http)
            || !lookup.TryFind(http, out var found)
            || earlyHits.EndpointFor(found.Entry!) is not { } endpoint || endpoint.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return default;
        }
        http.SetEndpoint(endpoint);
        var context = contexts.Rent(http, endpoint, route.Config.RouteId);
        var requestPhase = policies.OnRequestAsync(context);
        if (!requestPhase.IsCompletedSuccessfully)
        {
            return PrepareAsync(requestPhase, context, found);
        }
        requestPhase.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        if (!Usable(context, found))
        {
            return new(Unprepare(context));
        }
        var reuse = policies.DecideReuseAsync(context);
        if (!reuse.IsCompletedSuccessfully)
        {
            return PrepareAsync(default, context, found, reuse);
        }
        return new(reuse.Result == Reuse.Fresh ? context : Unprepare(context));
    }

    private async ValueTask<CacheContext?> PrepareAsync(ValueTask requestPhase, CacheContext context, Lookup found, ValueTask<Reuse>? reuse = null)
    {
        try
        {
            if (reuse is null)
            {
                await requestPhase;
                if (!Usable(context, found))
                {
                    return Unprepare(context);
                }
                reuse = policies.DecideReuseAsync(context);
            }
            return await reuse.Value == Reuse.Fresh ? context : Unprepare(context);
        }
        catch
        {
            Unprepare(context);
            throw;
        }
    }

    /// <summary>After the request phase: whether the cache may answer, the lookup taken.</summary>
    private bool Usable(CacheContext context, in Lookup found)
    {
        context.Started = served.HitStart();
        context.Key = found.FetchKey;
        context.Looked(found);
        return context.EnableCaching && context.AllowCacheLookup && context.ReadRequestDirectives() && !keying.NeedsFullPath(context);
    }

    /// <summary>Gives the context back: routing runs as if nothing happened.</summary>
    private CacheContext? Unprepare(CacheContext context)
    {
        var http = context.HttpContext;
        contexts.Return(context);
        http.SetEndpoint(null);
        return null;
    }

    private bool Open(HttpContext http) =>
        lookup.CanFindSynchronously && !CacheProxyTelemetry.ActivitySource.HasListeners()
        && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
        && screening.IsPlain(http);

    /// <summary>Serves the fresh <see cref="CacheContext.StoredResponse"/> and gives the context back when done.</summary>
    public Task Serve(CacheContext context)
    {
        ValueTask write;
        try
        {
            refreshAhead.OnFreshHit(context);
            write = served.ServeAsync(context, Served.Hit, outsideRequestScope: true);
        }
        catch (Exception ex)
        {
            contexts.Return(context);
            return Task.FromException(ex); // the callers' error shaping answers for it, as for a failed write
        }
        if (!write.IsCompletedSuccessfully)
        {
            return FinishAsync(write, context);
        }
        write.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        contexts.Return(context);
        return Task.CompletedTask;
    }

    private async Task FinishAsync(ValueTask write, CacheContext context)
    {
        try
        {
            await write;
        }
        finally
        {
            contexts.Return(context);
        }
    }
}
