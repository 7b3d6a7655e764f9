using CacheProxy.Configuration;
using CacheProxy.Http;

namespace CacheProxy.Caching;

/// <summary>What may be done with a stored response for a request.</summary>
internal enum Reuse
{
    /// <summary>Fresh enough for the request: serve it.</summary>
    Fresh,

    /// <summary>Stale, but the request's max-stale accepts it: serve it.</summary>
    MaxStale,

    /// <summary>Stale within stale-while-revalidate: serve it and refresh it in the background (RFC 5861 §3).</summary>
    StaleWhileRevalidate,

    /// <summary>Not usable as it is: go upstream (validating it when it has a validator).</summary>
    Forward,
}

/// <summary>Every freshness and stale decision (RFC 9111 §4.2, §4.2.4, §5.2; RFC 5861), in one place.</summary>
internal static class ReuseRules
{
    /// <summary>Decides for the candidate <paramref name="context"/> considers, after the serve-from-cache policies ran.</summary>
    public static Reuse Decide(CacheContext context)
    {
        ref readonly var candidate = ref context.Candidate;
        var policy = candidate.Policy;
        var age = candidate.Age;
        var noCache = context.RequestNoCache || context.RequireRevalidation;
        if (CanReuse(policy, candidate.Lifetime, age, context.RequestCacheControl, noCache, out var stale))
        {
            return stale ? Reuse.MaxStale : Reuse.Fresh;
        }
        // Stale serving is off when the request limits age or asks for freshness (RFC 9111 §5.2.1.1, §5.2.1.3) and
        // when a response directive forbids it (§4.2.4).
        var staleness = candidate.Staleness;
        var requestCc = context.RequestCacheControl;
        return !noCache && !policy.NoCache && !policy.NoStaleServing && policy.StaleWhileRevalidate >= 0
            && staleness >= TimeSpan.Zero && staleness <= Freshness.Seconds(policy.StaleWhileRevalidate)
            && requestCc.MaxAge == CacheControl.Absent && requestCc.MinFresh == CacheControl.Absent
            ? Reuse.StaleWhileRevalidate
            : Reuse.Forward;
    }

    /// <summary>RFC 9111 §4.2 and §5.2.1: may the stored response answer this request without contacting the origin?</summary>
    public static bool CanReuse(StoredPolicy policy, TimeSpan lifetime, TimeSpan age, in CacheControl requestCc, bool requestNoCache, out bool stale)
    {
        stale = false;
        if (requestNoCache || policy.NoCache)
        {
            return false;
        }
        if (requestCc.MaxAge != CacheControl.Absent && (requestCc.MaxAge == CacheControl.Invalid || age > Freshness.Seconds(requestCc.MaxAge)))
        {
            return false;
        }
        if (lifetime > age)
        {
            return requestCc.MinFresh < 0 || lifetime - age >= Freshness.Seconds(requestCc.MinFresh);
        }
        if (policy.NoStaleServing || requestCc.MaxStale < 0 || requestCc.MinFresh >= 0)
        {
            return false;
        }
        stale = true;
        return requestCc.MaxStale == long.MaxValue || age - lifetime <= Freshness.Seconds(requestCc.MaxStale);
    }

    /// <summary>
    /// When the upstream failed (5xx or no answer): may <paramref name="stale"/>, the request's candidate as it stands
    /// now, be served instead? RFC 5861 §4 (either the
    /// response's or the request's stale-if-error), and RFC 9111 §4.2.4 for a cache that cannot reach the origin
    /// (<see cref="CacheProxyOptions.ServeStaleWhenUpstreamUnreachable"/>), unless an explicit directive forbids it.
    /// </summary>
    public static bool StaleOnErrorAllows(CacheContext context, in Candidate stale, bool unreachable, CacheProxyOptions options)
    {
        var policy = stale.Policy;
        if (policy.NoStaleServing || policy.NoCache || context.RequireRevalidation)
        {
            return false; // RFC 9111 §4.2.4: explicit directives forbid generating a stale response
        }
        if (stale.Entry!.StatusCode >= 400)
        {
            return false; // a stored error is not worth keeping an outage for: the client gets the outage itself
        }
        var staleness = stale.Staleness;
        var requestCc = context.RequestCacheControl;
        if ((policy.StaleIfError >= 0 && staleness <= Freshness.Seconds(policy.StaleIfError))
            || (requestCc.StaleIfError >= 0 && staleness <= Freshness.Seconds(requestCc.StaleIfError)))
        {
            return true;
        }
        // Serving stale on our own initiative needs a response the origin made explicitly fresh: a heuristically
        // fresh one (a 404, a page answered to a cookie) was never meant to be shared for long (docs/security.md).
        return unreachable && options.ServeStaleWhenUpstreamUnreachable && !context.RequestNoCache && policy.ExplicitlyFresh;
    }
}
