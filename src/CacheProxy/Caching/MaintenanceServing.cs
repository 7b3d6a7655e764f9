using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// A request while maintenance mode holds for it (<see cref="Maintenance.Applies"/>): nothing goes upstream. A GET or
/// HEAD with a stored response gets it — fresh as a hit, stale as <c>hit; detail=maintenance</c>, like a cache
/// disconnected from its origin (RFC 9111 §4.2.4; the client's no-cache and max-age cannot be honoured, the origin's
/// must-revalidate, proxy-revalidate, s-maxage and no-cache are). Anything else gets 503 problem+json with Retry-After.
/// </summary>
internal sealed class MaintenanceServing(Maintenance maintenance, CacheKey keys, ReuseLookup lookup, StoredResponses served,
    ErrorShaping errors, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Lifecycle);

    /// <summary>Whether maintenance mode holds for the request.</summary>
    public bool Applies(CacheContext context) => maintenance.Applies(context.HttpContext);

    /// <summary>A GET or HEAD: serves the stored response for <paramref name="context"/>, or refuses.</summary>
    public async Task ServeAsync(CacheContext context)
    {
        context.Looked(default);
        context.ReadRequestDirectives();
        context.Key = keys.Build(context.HttpContext, context.KeyedHeaders, context.KeyQuery);
        context.Started = served.HitStart();
        var reuse = context.Key is null ? null : await lookup.FindAsync(context);
        if (reuse is not null)
        {
            var policy = context.Candidate.Policy;
            if (reuse is Reuse.Fresh or Reuse.MaxStale || !(policy.NoStaleServing || policy.NoCache || context.RequireRevalidation))
            {
                await served.ServeAsync(context, reuse == Reuse.Fresh ? Served.Hit : Served.Maintenance);
                return;
            }
        }
        await RefuseAsync(context);
    }

    /// <summary>503 problem+json with the Retry-After in effect.</summary>
    public Task RefuseAsync(CacheContext context)
    {
        var http = context.HttpContext;
        Log.MaintenanceRefused(_logger, http.Request.Method, context.RouteId);
        metrics.MaintenanceRefused.Add(1);
        metrics.Request(context.MetricKey, CacheOutcome.Error);
        var retryAfter = ((long)Math.Ceiling(maintenance.Current.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return errors.WriteProblemAsync(http, new CacheProxyErrorFeature(CacheProxyError.Maintenance, ErrorCategory.Maintenance, null),
            headers: [new("Retry-After", retryAfter)]);
    }
}
