using System.Diagnostics;
using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// stale-while-revalidate (RFC 5861 §3): after a stale response was served, one refresh of it on a request of our
/// own through the rest of the pipeline, as <see cref="BackgroundWork"/>. It leads the key's fetch in the
/// <see cref="FetchCollapser"/>, so it does not start while another fetch of the key runs (here or, with a
/// coordinator, on another instance), and requests that cannot be served stale meanwhile wait for it.
/// </summary>
internal sealed class BackgroundRefresh(BackgroundWork work, FetchCollapser collapser, UpstreamFetch upstream, CacheContextPool contexts,
    IServiceScopeFactory scopes, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// Starts a refresh of the response <paramref name="context"/> found (stale, or fresh for <see cref="RefreshAhead"/>),
    /// unless the key is being fetched already; true when it started. <paramref name="done"/> runs when a started one ends.
    /// </summary>
    public bool TryStart(CacheContext context, RequestDelegate next, Action? done = null)
    {
        var fetchKey = context.Lookup.FetchKey!;
        if (!collapser.TryLead(fetchKey, out var flight))
        {
            return false;
        }
        // Everything the refresh needs is copied now: the request's objects are reused once it is answered.
        var graphQL = context.GraphQL;
        // What keying learnt of the request (the values beyond the URL, the query keyed, the image variant asked for).
        var (keyedOnCaller, cookiesKeyed, variant, keyQuery) = (context.KeyedOnCaller, context.CookiesKeyed, context.Variant, context.KeyQuery);
        List<KeyValuePair<string, string>>? keyedHeaders = context.KeyedHeaders is { Count: > 0 } keyed ? [.. keyed] : null;
        var request = CopyRequest(context.HttpContext, graphQL?.Body);
        var endpoint = context.Endpoint;
        var routeValues = new RouteValueDictionary(context.HttpContext.Request.RouteValues);
        var (key, routeId, found, stale) = (context.Key!, context.RouteId, context.Lookup, context.Candidate);
        var parent = Activity.Current?.Context;
        var started = work.TryStart("stale-while-revalidate refresh", async cancellationToken =>
        {
            // A span of its own (the request that triggered it has been answered), linked to that request.
            using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.refresh", ActivityKind.Internal,
                parentContext: default, links: parent is { } p ? [new ActivityLink(p)] : null);
            var outcome = default(FetchOutcome);
            CacheContext? background = null;
            try
            {
                await using var claim = await collapser.ClaimAsync(fetchKey);
                if (claim is null)
                {
                    return; // another instance is fetching it; its write reaches our memory tier as an invalidation
                }
                await using var scope = scopes.CreateAsyncScope();
                var http = NewHttpContext(request, scope.ServiceProvider, cancellationToken, hasBody: graphQL?.Body is not null);
                http.SetEndpoint(endpoint);
                http.Request.RouteValues = routeValues;
                background = contexts.Rent(http, endpoint, routeId);
                background.Key = key;
                background.GraphQL = graphQL;
                background.KeyedOnCaller = keyedOnCaller;
                background.CookiesKeyed = cookiesKeyed;
                background.Variant = variant; // an image variant is made again from the refreshed source, not replaced by it
                background.KeyedHeaders = keyedHeaders;
                background.KeyQuery = keyQuery;
                background.Looked(found);
                background.Consider(Candidate.ForRefresh(stale.Entry!, stale.Policy));
                background.RequestCacheControl = CacheControl.Parse(StringValues.Empty);
                outcome = await upstream.ForwardAsync(background, next, "stale", background: true); // the forward reason of a response no client sees
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
                metrics.BackgroundRefreshes.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                Log.BackgroundRefreshFailed(_logger, CacheKey.Hash(key), ex);
            }
            finally
            {
                if (background is not null)
                {
                    contexts.Return(background);
                }
                collapser.Land(fetchKey, flight, outcome);
                done?.Invoke();
            }
        });
        if (!started)
        {
            collapser.Land(fetchKey, flight, default); // shutting down: no refresh
        }
        return started;
    }

    /// <summary>The request as a GET — or, for a GraphQL query that came as a POST, as that POST with its body.</summary>
    private static HttpRequestFeature CopyRequest(HttpContext context, byte[]? body)
    {
        var request = context.Request;
        var headers = new HeaderDictionary();
        foreach (var h in request.Headers)
        {
            if (!IsConditionalOrRange(h.Key))
            {
                headers[h.Key] = h.Value;
            }
        }
        return new HttpRequestFeature
        {
            Method = body is null ? HttpMethods.Get : HttpMethods.Post,
            Scheme = request.Scheme,
            PathBase = request.PathBase.Value ?? string.Empty,
            Path = request.Path.Value ?? string.Empty,
            QueryString = request.QueryString.Value ?? string.Empty,
            RawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty,
            Protocol = request.Protocol,
            Headers = headers,
            Body = body is null ? Stream.Null : new MemoryStream(body, writable: false),
        };
    }

    private static DefaultHttpContext NewHttpContext(HttpRequestFeature request, IServiceProvider services, CancellationToken aborted, bool hasBody)
    {
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        features.Set<IHttpRequestBodyDetectionFeature>(hasBody ? WithBody.Instance : NoBody.Instance);
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = aborted });
        return new DefaultHttpContext(features) { RequestServices = services };
    }

    private static bool IsConditionalOrRange(string name) =>
        name.Equals(HeaderNames.IfNoneMatch, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfModifiedSince, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfMatch, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfUnmodifiedSince, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfRange, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Range, StringComparison.OrdinalIgnoreCase);

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }

    private sealed class WithBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly WithBody Instance = new();

        public bool CanHaveBody => true;
    }
}
