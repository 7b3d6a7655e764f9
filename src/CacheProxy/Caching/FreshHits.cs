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
internal sealed class FreshHits(TimeProvider time, ILoggerFactory loggers,
    CacheContextPool contexts, CachePolicies policies, CacheLookup lookup, StoredResponses served,
    RequestScreening screening, EarlyHits? earlyHits = null)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>After routing: serves the request of <paramref name="context"/> and takes the context over, or null.</summary>
    public Task? TryServe(CacheContext context)
    {
        var http = context.HttpContext;
        if (!Open(http) || !context.EnableCaching || !context.AllowCacheLookup || !context.ReadRequestDirectives())
        {
            return null;
        }
        context.Started = time.GetTimestamp();
        if (!lookup.TryFind(http, out var entry, out var key))
        {
            return null;
        }
        context.Key = key;
        context.Looked(new Lookup(key, entry));
        if (policies.DecideReuse(context) != Reuse.Fresh)
        {
            return null;
        }
        if (HttpMethods.IsGet(http.Request.Method))
        {
            earlyHits?.Stamp(entry, context.Endpoint); // a routed GET: later ones for this entry may skip routing
        }
        return Serve(context);
    }

    /// <summary>
    /// Before routing: a context for a GET whose fresh response a routed GET stamped for the current endpoints
    /// (<see cref="EarlyHits"/>), with the endpoint set as routing would have; <see cref="Serve"/> answers it. Null,
    /// and nothing changed, when routing must run.
    /// </summary>
    public CacheContext? TryPrepareBeforeRouting(HttpContext http)
    {
        if (earlyHits is null || !HttpMethods.IsGet(http.Request.Method) || !Open(http)
            || !lookup.TryFind(http, out var entry, out var key)
            || earlyHits.EndpointFor(entry) is not { } endpoint || endpoint.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return null;
        }
        http.SetEndpoint(endpoint);
        var context = contexts.Rent(http, endpoint, route.Config.RouteId);
        policies.OnRequest(context);
        context.Started = time.GetTimestamp();
        context.Key = key;
        context.Looked(new Lookup(key, entry));
        if (context.EnableCaching && context.AllowCacheLookup && context.ReadRequestDirectives() && policies.DecideReuse(context) == Reuse.Fresh)
        {
            return context;
        }
        contexts.Return(context);
        http.SetEndpoint(null); // routing runs as if nothing happened
        return null;
    }

    private bool Open(HttpContext http) =>
        lookup.CanFindSynchronously && !CacheProxyTelemetry.ActivitySource.HasListeners()
        && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
        && screening.IsPlain(http);

    /// <summary>Serves the fresh <see cref="CacheContext.StoredResponse"/> and gives the context back when done.</summary>
    public Task Serve(CacheContext context)
    {
        // The full path's events carry the request's scope; this path opens it only when a hit is logged (event 1001).
        using var scope = _logger.IsEnabled(LogLevel.Debug) && context.HttpContext.Features.Get<ICorrelationIdFeature>() is { } correlation
            ? _logger.BeginScope(correlation)
            : null;
        ValueTask write;
        try
        {
            write = served.ServeAsync(context, Served.Hit);
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
