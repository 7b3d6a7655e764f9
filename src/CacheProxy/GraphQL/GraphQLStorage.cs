using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.GraphQL;

/// <summary>
/// What a GraphQL query's response body decides before it is stored (docs/graphql.md): a response with
/// <c>errors</c> is not stored unless the route says so; Apollo-style cache-control hints shorten its freshness to
/// the smallest <c>maxAge</c> (never lengthen what the origin's Cache-Control gave) and a <c>PRIVATE</c> one keeps it
/// out of a shared entry; the entities in <c>data</c> become tags (<c>Type:id</c>), and the operation's name one
/// more (<c>operation:Name</c>).
/// </summary>
internal sealed class GraphQLStorage(CacheProxyMetrics metrics, ILoggerFactory loggers) : IHeldResponses
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Whether the upstream response now starting is a GraphQL query's JSON to read before deciding.</summary>
    public bool Holds(CacheContext context, HttpResponse response, CacheProxyOptions current) =>
        context.GraphQL is { IsQuery: true } && response.StatusCode == StatusCodes.Status200OK
        && (response.ContentLength is null || response.ContentLength <= current.MaxObjectSize)
        && StringValues.IsNullOrEmpty(response.Headers.ContentEncoding) && IsJson(response.ContentType);

    /// <summary>Applies the held body to <paramref name="context"/>: its freshness and tags; the reason it is not stored, or null.</summary>
    public ValueTask<string?> ApplyAsync(CacheContext context, CaptureBodyFeature capture, DateTimeOffset responseTime, CacheProxyOptions current) =>
        new(Apply(context, capture, responseTime, current));

    public void Stored(CacheContext context, Storage.CacheEntry entry, IReadOnlyList<string>? varyNames)
    {
        // Nothing more to do: a GraphQL response is one representation.
    }

    private string? Apply(CacheContext context, CaptureBodyFeature capture, DateTimeOffset responseTime, CacheProxyOptions current)
    {
        if (!current.Routes.TryGetValue(context.RouteId, out var routeOptions))
        {
            return null;
        }
        var route = routeOptions.GraphQL;
        var inspection = capture.Copy.Buffering ? GraphQLResponses.Inspect(capture.Copy.Kept, route, route.EntityTags) : GraphQLInspection.Unreadable;
        var refusal = inspection switch
        {
            { Readable: false } => ("unreadable", "the body is not a JSON object"),
            { HasErrors: true } when !route.CacheErrors => ("errors", "the response has errors (GraphQL:CacheErrors is off)"),
            { Private: true } when !context.KeyedOnCaller => ("private", "a cache-control hint has scope PRIVATE and the request is not keyed on its caller"),
            { MaxAge: { } zero } when zero <= TimeSpan.Zero => ("max_age_zero", "a cache-control hint has maxAge 0"),
            _ => default((string Outcome, string Reason)?),
        };
        if (refusal is { } refused)
        {
            metrics.GraphQLResponses.Add(1, new KeyValuePair<string, object?>("outcome", refused.Outcome));
            Log.GraphQLResponseNotStored(_logger, new KeyHash(context.Key!), context.RouteId, refused.Reason);
            return "GraphQL: " + refused.Reason;
        }
        if (inspection.MaxAge is { } hint)
        {
            var lifetime = context.FreshnessLifetime ?? OriginLifetime(context.HttpContext.Response, current, responseTime);
            context.FreshnessLifetime = lifetime is { } origin && origin < hint ? origin : hint;
        }
        if (context.GraphQL!.OperationName is { } name)
        {
            context.Tags.Add("operation:" + name);
        }
        foreach (var entity in inspection.Entities)
        {
            context.Tags.Add(entity);
        }
        if (inspection.EntityCount > inspection.Entities.Count)
        {
            metrics.GraphQLResponses.Add(1, new KeyValuePair<string, object?>("outcome", "tags_dropped"));
            Log.GraphQLEntityTagsDropped(_logger, new KeyHash(context.Key!), context.RouteId, inspection.EntityCount, inspection.EntityCount - inspection.Entities.Count);
        }
        metrics.GraphQLResponses.Add(1, new KeyValuePair<string, object?>("outcome", "stored"));
        return null;
    }

    /// <summary>The freshness lifetime the origin's fields give explicitly, or null (none, or only a heuristic one).</summary>
    private static TimeSpan? OriginLifetime(HttpResponse response, CacheProxyOptions current, DateTimeOffset responseTime)
    {
        var headers = CacheHeaders.From(response.Headers, current.Targeted);
        var cc = Freshness.Governing(headers, current.Targeted);
        var lifetime = Freshness.Lifetime(headers, cc, response.StatusCode, responseTime, current.HeuristicFraction, current.HeuristicMaxLifetime,
            out var explicitExpiry, out _);
        return explicitExpiry ? lifetime : null;
    }

    internal static bool IsJson(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var semicolon = contentType.IndexOf(';');
        var media = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/graphql-response+json", StringComparison.OrdinalIgnoreCase);
    }
}
