using CacheProxy.Diagnostics;

namespace CacheProxy.Caching;

/// <summary>
/// Why a stored response answers a request. Each value names one RFC 9211 Cache-Status member and one
/// <c>cacheproxy.requests</c> outcome (<see cref="ServedAs"/>); <see cref="StoredResponses"/> is the one place that
/// serves a stored response.
/// </summary>
internal enum Served
{
    /// <summary>Fresh: <c>hit</c>.</summary>
    Hit,

    /// <summary>Stale, accepted by the request's max-stale: <c>hit; detail=max-stale</c>.</summary>
    MaxStale,

    /// <summary>Stale within stale-while-revalidate, refreshed in the background: <c>hit; detail=stale-while-revalidate</c>.</summary>
    StaleWhileRevalidate,

    /// <summary>Fresh once the fetch this request waited for stored it: <c>hit; detail=collapsed</c>.</summary>
    Collapsed,

    /// <summary>Stale while maintenance mode keeps requests from the origin: <c>hit; detail=maintenance</c>.</summary>
    Maintenance,

    /// <summary>Stale because this request's fetch failed: <c>hit; fwd=stale; fwd-status=…; detail=stale-if-error|upstream-unreachable</c>.</summary>
    StaleOnError,

    /// <summary>Stale because the fetch this request waited for failed: <c>hit; detail=stale-if-error-collapsed</c> (or upstream-unreachable-collapsed).</summary>
    CollapsedStaleOnError,

    /// <summary>Freshened by the origin's 304 to our validation: <c>fwd=…; fwd-status=304[; stored]</c>.</summary>
    Validated,

    /// <summary>A stored part joined to the rest the origin sent: <c>fwd=…; fwd-status=206[; stored]</c>.</summary>
    Completed,

    /// <summary>What the origin just sent, held back and answered from (an ESI page, assembled): <c>fwd=…; fwd-status=…[; stored]</c>.</summary>
    Fetched,
}

/// <summary>What the upstream said, for the members of <see cref="Served"/> values that went there.</summary>
/// <param name="Reason">The RFC 9211 forward reason: miss, vary-miss, stale, request.</param>
/// <param name="Status">The upstream's status.</param>
/// <param name="Unreachable">No response came at all.</param>
/// <param name="Stored">What came back was stored.</param>
internal readonly record struct UpstreamAnswer(string Reason, int Status, bool Unreachable = false, bool Stored = false);

/// <summary>The Cache-Status member and the metric outcome of each <see cref="Served"/> value.</summary>
internal static class ServedAs
{
    /// <summary>The RFC 9211 member (the cache's name is prepended by <see cref="CacheStatus.Value"/>).</summary>
    public static string Member(Served served, in UpstreamAnswer upstream) => served switch
    {
        Served.Hit => CacheStatus.Hit,
        Served.MaxStale => "hit; detail=max-stale",
        Served.StaleWhileRevalidate => "hit; detail=stale-while-revalidate",
        Served.Collapsed => "hit; detail=collapsed",
        Served.Maintenance => "hit; detail=maintenance",
        Served.StaleOnError => $"hit; fwd=stale; fwd-status={upstream.Status}; detail={StaleDetail(upstream)}",
        Served.CollapsedStaleOnError => $"hit; detail={StaleDetail(upstream)}-collapsed",
        Served.Validated => CacheStatus.Forwarded(upstream.Reason, 304, upstream.Stored),
        Served.Completed => CacheStatus.Forwarded(upstream.Reason, 206, upstream.Stored),
        Served.Fetched => CacheStatus.Forwarded(upstream.Reason, upstream.Status, upstream.Stored),
        _ => throw new ArgumentOutOfRangeException(nameof(served)),
    };

    /// <summary>The outcome counted in <c>cacheproxy.requests</c>; a <see cref="CacheOutcome.Hit"/> is also timed.</summary>
    public static CacheOutcome Outcome(Served served) => served switch
    {
        Served.Hit or Served.MaxStale or Served.Collapsed => CacheOutcome.Hit,
        Served.Validated => CacheOutcome.Revalidated,
        Served.Completed or Served.Fetched => CacheOutcome.Miss,
        _ => CacheOutcome.Stale,
    };

    private static string StaleDetail(in UpstreamAnswer upstream) => upstream.Unreachable ? "upstream-unreachable" : "stale-if-error";
}
