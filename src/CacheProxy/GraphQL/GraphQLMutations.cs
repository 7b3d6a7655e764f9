using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.GraphQL;

/// <summary>
/// Purge on mutation (<c>GraphQL:PurgeOnMutation</c>, docs/graphql.md): a mutation goes upstream as any unsafe
/// request, its JSON response is kept while it streams to the client, and the entities its <c>data</c> returns are
/// purged by their tags on every instance (and at the CDN, with <c>Cdn:ForwardUnsafeInvalidations</c>) before the
/// response's last byte reaches the client: a client that reads the answer and queries again finds no stale entity.
/// </summary>
internal sealed class GraphQLMutations(PassThrough passThrough, Invalidations invalidations, Cdn.CdnForwarder cdn, LastGoodOptions options,
    TimeProvider time, CacheProxyMetrics metrics, CaptureBudget budget, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    public async Task ForwardAsync(CacheContext context, RequestDelegate next, RouteGraphQLOptions route)
    {
        if (!route.PurgeOnMutation)
        {
            await passThrough.ForwardUnsafeAsync(context, next);
            return;
        }
        var http = context.HttpContext;
        var current = options.Current;
        var original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CaptureBodyFeature(original, c =>
        {
            var response = http.Response;
            if (response.StatusCode is >= 200 and < 300 && StringValues.IsNullOrEmpty(response.Headers.ContentEncoding) && GraphQLStorage.IsJson(response.ContentType))
            {
                c.StartBuffering(current.MaxObjectSize, response.ContentLength);
            }
            return new(CaptureMode.PassThrough);
        }, budget);
        http.Features.Set<IHttpResponseBodyFeature>(capture);
        try
        {
            await passThrough.ForwardUnsafeAsync(context, next);
            await capture.DecideAsync();
        }
        finally
        {
            http.Features.Set(original);
        }
        try
        {
            if (capture.Copy.Buffering && !http.RequestAborted.IsCancellationRequested && http.Features.Get<IForwarderErrorFeature>() is null)
            {
                await PurgeAsync(context, route, capture.Copy.Kept.ToArray());
            }
        }
        finally
        {
            capture.Copy.Release();
            await capture.ReleaseHeldAsync(); // only now does the client see the end of the answer
        }
    }

    private async Task PurgeAsync(CacheContext context, RouteGraphQLOptions route, byte[] body)
    {
        var inspection = GraphQLResponses.Inspect(body, route, entities: true);
        if (inspection.Entities.Count == 0)
        {
            return;
        }
        var now = time.GetUtcNow();
        var (_, published) = await invalidations.ApplyAsync([.. inspection.Entities.Select(tag => new InvalidationMessage(InvalidationScope.Tag, tag, Time: now))]);
        metrics.GraphQLMutationPurges.Add(inspection.Entities.Count);
        Log.GraphQLMutationPurged(_logger, context.GraphQL?.OperationName, context.RouteId, inspection.Entities.Count, inspection.EntityCount,
            string.Join(", ", inspection.Entities));
        if (options.Current.Cdn.ForwardUnsafeInvalidations && published != false
            && await cdn.QueueAsync([], inspection.Entities, [], soft: false) is { Refused: { } refused })
        {
            Log.CdnForwardingNotQueued(_logger, "a GraphQL mutation's entity purge", refused);
        }
    }
}
