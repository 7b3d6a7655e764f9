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
internal sealed class MaintenanceServing(Maintenance maintenance, CacheLookup lookup, CachePolicies policies, StoredResponseWriter responses,
    ErrorShaping errors, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Lifecycle);

    /// <summary>Serves the stored response for <paramref name="context"/> (its key built), or refuses.</summary>
    public async Task ServeAsync(CacheContext context)
    {
        var entry = context.Key is null ? null : await lookup.FindAsync(context);
        if (entry is not null)
        {
            var reuse = policies.Consider(context, entry);
            var policy = context.StoredPolicy!;
            if (reuse is Reuse.Fresh or Reuse.MaxStale || !(policy.NoStaleServing || policy.NoCache || context.RequireRevalidation))
            {
                var fresh = reuse == Reuse.Fresh;
                await responses.WriteAsync(context.HttpContext, context.RouteId, entry, policy, context.StoredResponseAge,
                    fresh ? CacheStatus.Hit : CacheStatus.MaintenanceHit);
                metrics.Request(context.MetricKey, fresh ? CacheOutcome.Hit : CacheOutcome.Stale);
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
