using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.GraphQL;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Caching;

/// <summary>
/// The RFC 9111 shared cache in front of YARP. A request's steps — the same numbering as docs/architecture.md, which
/// follows requests through them:
/// <list type="number">
/// <item>Begin (<see cref="BeginAsync"/>): only requests routed to a YARP route are cached; a pooled
/// <see cref="CacheContext"/>; <see cref="ICachePolicy.OnRequestAsync"/> (<see cref="CachePolicies"/>, <c>CacheProxy:Routes</c> first).</item>
/// <item>Screen (<see cref="HandleAsync"/>): unkeyed request fields removed, keyed on or bypassing, malformed framing
/// refused (<see cref="RequestScreening"/>); while maintenance mode holds only what is stored answers
/// (<see cref="MaintenanceServing"/>); GET and HEAD without content are read, other methods pass through
/// (<see cref="PassThrough"/>), unsafe ones invalidating on success (RFC 9111 §4.4).</item>
/// <item>Key (<see cref="CacheReads"/>): <see cref="CacheKey"/> with the <see cref="ICacheKeyCustomizer"/>s, and the request's Cache-Control.</item>
/// <item>Lookup and reuse: synchronously from the memory tier (<see cref="FreshHits"/>, no async frame), else
/// <see cref="ReuseLookup"/> (<see cref="CacheLookup"/>, then <see cref="CachePolicies.DecideReuseAsync"/>: the serve-from-cache
/// policies and <see cref="ReuseRules"/>). Fresh or accepted stale → served by <see cref="StoredResponses"/>; within
/// stale-while-revalidate → served and refreshed (<see cref="BackgroundRefresh"/>); only-if-cached → 504.</item>
/// <item>Collapse (<see cref="FetchCollapser"/>): one upstream fetch per key, in this instance and across instances;
/// the others wait and serve what it stored — or the stale response, when it failed and that is allowed.</item>
/// <item>Fetch and decide (<see cref="UpstreamFetch"/>): the stored validators replace the client's
/// (<see cref="Revalidation"/>), YARP is called, and at the response's start the <see cref="FetchDecider"/> returns a
/// <see cref="FetchDecision"/>.</item>
/// <item>Carry out: each decision by its owner — a 304 merged by <see cref="Revalidation"/>, stale served by
/// <see cref="StoredResponses"/>, the body stored by <see cref="ResponseStorer"/>, a stored part completed by
/// <see cref="RangeCompletion"/>; the fetch's followers learn how it ended.</item>
/// </list>
/// </summary>
internal sealed class CacheEngine(ILoggerFactory loggers, CacheContextPool contexts, CachePolicies policies, FreshHits freshHits,
    RequestScreening screening, MaintenanceServing duringMaintenance, PassThrough passThrough, CacheReads reads, GraphQLRequests graphQL,
    GraphQLMutations mutations, RouteKeying keying)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// (1) A context for a request routed to a YARP route, request-phase policies applied (synchronously unless one
    /// awaits); null for any other request.
    /// </summary>
    public ValueTask<CacheContext?> BeginAsync(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint || endpoint.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return default;
        }
        var cache = contexts.Rent(context, endpoint, route.Config.RouteId);
        var requestPhase = policies.OnRequestAsync(cache);
        if (!requestPhase.IsCompletedSuccessfully)
        {
            return BegunAsync(requestPhase, cache);
        }
        requestPhase.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        return new(cache);

        async ValueTask<CacheContext?> BegunAsync(ValueTask requestPhase, CacheContext cache)
        {
            try
            {
                await requestPhase;
                return cache;
            }
            catch
            {
                contexts.Return(cache);
                throw;
            }
        }
    }

    /// <summary>
    /// (1–4) A fresh hit from the synchronous tier, answered at once (<see cref="FreshHits"/>); null: <see cref="HandleAsync"/>.
    /// <paramref name="otherwise"/> is the full path, for a hit whose serve-from-cache policies awaited and then refused it.
    /// </summary>
    public Task? TryServeFreshHit(CacheContext context, Func<CacheContext, Task> otherwise) => freshHits.TryServe(context, otherwise);

    /// <summary>(1–4) Before routing, a fresh hit a routed GET stamped (<see cref="FreshHits.TryPrepareBeforeRoutingAsync"/>); null: routing goes on.</summary>
    public ValueTask<CacheContext?> TryPrepareBeforeRoutingAsync(HttpContext context) => freshHits.TryPrepareBeforeRoutingAsync(context);

    /// <summary>Answers a context <see cref="TryPrepareBeforeRoutingAsync"/> gave.</summary>
    public Task ServeFreshHit(CacheContext context) => freshHits.Serve(context);

    /// <summary>(2–7) Every request <see cref="BeginAsync"/> gave a context that was not answered as a fresh hit; takes the context over.</summary>
    public async Task HandleAsync(CacheContext context, RequestDelegate next)
    {
        try
        {
            screening.Apply(context); // not in Begin: a fresh hit forwards nothing (IsPlain guards the fast paths)
            var method = context.HttpContext.Request.Method;
            if (await screening.RefuseMalformedFramingAsync(context))
            {
                return;
            }
            // Cookies, experiment buckets and variants the route keys on (RouteKeying.NeedsFullPath guards the fast paths).
            if (await keying.ApplyAsync(context))
            {
                return;
            }
            // A GraphQL route's operation (docs/graphql.md): a query is a read, keyed on the normalized operation.
            var graphQLRoute = graphQL.For(context.RouteId);
            var operation = graphQLRoute is null ? GraphQLScreen.None : await graphQL.ScreenAsync(context, graphQLRoute);
            if (operation == GraphQLScreen.Refused)
            {
                return;
            }
            var read = context.IsRead;
            if (duringMaintenance.Applies(context))
            {
                await (read && context.EnableCaching ? duringMaintenance.ServeAsync(context) : duringMaintenance.RefuseAsync(context));
            }
            else if (!context.EnableCaching)
            {
                await passThrough.ForwardAsync(context, next, CacheStatus.PolicyBypass);
            }
            else if (operation == GraphQLScreen.Pass)
            {
                await passThrough.ForwardAsync(context, next, CacheStatus.GraphQLPassed);
            }
            else if (read && context.GraphQL is null && context.RequestHasContent)
            {
                // Never answered from, nor stored under, the bodyless key: forwarded as it came (docs/security.md).
                Log.RequestContentBypassed(_logger, method, context.RouteId);
                await passThrough.ForwardAsync(context, next, CacheStatus.RequestContent);
            }
            else if (read)
            {
                await reads.ReadAsync(context, next);
            }
            else if (HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method) || HttpMethods.IsConnect(method))
            {
                await passThrough.ForwardAsync(context, next, CacheStatus.OtherMethod);
            }
            else if (operation == GraphQLScreen.Mutation)
            {
                await mutations.ForwardAsync(context, next, graphQLRoute!);
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
}
