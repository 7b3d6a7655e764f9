using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// The one place a stored response answers a request: written by the <see cref="StoredResponseWriter"/> with the
/// Cache-Status member of what was <see cref="Served"/>, and counted under that value's outcome (a hit also timed);
/// a hit is logged (event 1001, debug), a stale response served for a failing upstream too (event 1006). Also the answer
/// when nothing stored may answer an only-if-cached request.
/// </summary>
internal sealed class StoredResponses(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, StoredResponseWriter writer,
    CacheKey keys, DeferredCompression compression, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Serves the candidate <paramref name="context"/>'s lookup found and its policies accepted.</summary>
    /// <param name="context">The request's context.</param>
    /// <param name="served">Why it is served.</param>
    /// <param name="outsideRequestScope">The fresh-hit path, which runs before the request's log scope exists: a hit it logs gets the scope.</param>
    public ValueTask ServeAsync(CacheContext context, Served served, bool outsideRequestScope = false) =>
        ServeAsync(context, served, context.Candidate, default, outsideRequestScope);

    /// <summary>Serves <paramref name="candidate"/>; <paramref name="upstream"/> is what the origin said, for the values that went there.</summary>
    // Not async: a write that completes at once (the common hit) costs no state machine.
    public ValueTask ServeAsync(CacheContext context, Served served, in Candidate candidate, in UpstreamAnswer upstream, bool outsideRequestScope = false)
    {
        if (served is Served.Hit or Served.MaxStale)
        {
            compression.OnHit(context); // one field read but on an entry's first hit
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                LogHit(context, outsideRequestScope);
            }
        }
        else if (served == Served.StaleOnError)
        {
            Log.ServedStaleOnError(_logger, upstream.Status, CacheKey.Hash(context.Key!));
        }
        var member = ServedAs.Member(served, upstream);
        if (context.GraphQL is { } operation && !member.Contains("detail=", StringComparison.Ordinal))
        {
            member = GraphQL.GraphQLRequests.WithOperation(member, operation); // docs/graphql.md: which operation a response answers
        }
        var write = writer.WriteAsync(context.HttpContext, context.RouteId, candidate.Entry!, candidate.Policy, candidate.Age, member);
        if (!write.IsCompletedSuccessfully)
        {
            return CountAfterAsync(write, context, served);
        }
        write.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        Count(context, served);
        return default;
    }

    /// <summary>
    /// When a request that may become a hit began, for <c>cacheproxy.hit.duration</c> (<see cref="CacheContext"/>'s
    /// <c>Started</c>); 0, and no clock read, while nothing listens to that histogram.
    /// </summary>
    public long HitStart() => metrics.HitDuration.Enabled ? time.GetTimestamp() : 0;

    /// <summary><paramref name="entry"/> as it stands now (a response the upstream just freshened, joined or failed over to).</summary>
    public Candidate Now(Storage.CacheEntry entry) => Candidate.At(entry, options.Current, time.GetUtcNow());

    private void LogHit(CacheContext context, bool outsideRequestScope)
    {
        using var scope = outsideRequestScope && context.HttpContext.Features.Get<ICorrelationIdFeature>() is { } correlation
            ? _logger.BeginScope(correlation) // the scope the full path's events have
            : null;
        Log.CacheHit(_logger, context.RouteId, keys.HashFor(context));
    }

    /// <summary>RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored; the error shaping answers 504 problem+json.</summary>
    public void NotCached(CacheContext context) =>
        AnswerWithError(context, CacheOutcome.Miss, CacheStatus.OnlyIfCached, new CacheProxyErrorFeature(CacheProxyError.NotCached, ErrorCategory.Client, null));

    /// <summary>
    /// Nothing stored answers and the request goes nowhere: counted under <paramref name="outcome"/>, its Cache-Status
    /// <paramref name="member"/> set, and <paramref name="error"/> left for the error shaping to write (problem+json).
    /// </summary>
    public void AnswerWithError(CacheContext context, CacheOutcome outcome, string member, ICacheProxyErrorFeature error)
    {
        metrics.Request(context.MetricKey, outcome);
        context.HttpContext.Response.Headers[CacheProxyHeaderNames.CacheStatus] = CacheStatus.Value(options.Current.CacheStatusName, member);
        context.HttpContext.Features.Set(error);
    }

    private async ValueTask CountAfterAsync(ValueTask write, CacheContext context, Served served)
    {
        await write;
        Count(context, served);
    }

    private void Count(CacheContext context, Served served)
    {
        var outcome = ServedAs.Outcome(served);
        if (outcome == CacheOutcome.Hit)
        {
            metrics.Hit(context.MetricKey, context.RouteId, context.Started, time);
        }
        else
        {
            metrics.Request(context.MetricKey, outcome);
        }
    }
}
