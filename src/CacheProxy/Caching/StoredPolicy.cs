using CacheProxy.Configuration;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>Facts about a stored response that every reuse decision needs, derived once from its headers.</summary>
internal sealed class StoredPolicy
{
    public TimeSpan Lifetime { get; private init; }

    public TimeSpan CorrectedInitialAge { get; private init; }

    /// <summary>no-cache: every reuse needs a successful validation (RFC 9111 §5.2.2.4; the qualified form is treated as unqualified).</summary>
    public bool NoCache { get; private init; }

    /// <summary>must-revalidate, proxy-revalidate or s-maxage: never served stale (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10).</summary>
    public bool NoStaleServing { get; private init; }

    public long StaleWhileRevalidate { get; private init; }

    public long StaleIfError { get; private init; }

    /// <summary>
    /// The freshness came from the origin's explicit expiry (s-maxage, max-age, Expires) or a route's Ttl, not from a
    /// heuristic: only such a response may be served stale because the upstream is unreachable.
    /// </summary>
    public bool ExplicitlyFresh { get; private init; }

    public StringValues ETag { get; private init; }

    public StringValues LastModified { get; private init; }

    public DateTimeOffset? LastModifiedDate { get; private init; }

    public DateTimeOffset? Date { get; private init; }

    /// <summary>Surrogate-Control named ESI/1.0 for this cache: the body is a page to assemble (<see cref="Esi.EsiAssembler"/>).</summary>
    public bool EsiNegotiated { get; private init; }

    /// <summary>The body parsed for ESI, once, on its first use (written by <see cref="Esi.EsiAssembler"/>; a race parses twice, alike).</summary>
    internal Esi.EsiTemplate? EsiTemplate;

    public bool HasValidator => !StringValues.IsNullOrEmpty(ETag) || LastModifiedDate is not null;

    /// <summary>The facts of a stored entry, derived once and kept beside it in the memory tier.</summary>
    public static StoredPolicy For(StoredEntry stored, CacheProxyOptions options)
    {
        if (stored.Derived is StoredPolicy cached)
        {
            return cached;
        }
        var policy = Of(stored.Entry, options);
        stored.Derived = policy;
        return policy;
    }

    /// <summary>The facts of an entry no store holds yet (one being written, or answering now).</summary>
    public static StoredPolicy Of(CacheEntry entry, CacheProxyOptions options) =>
        Create(CacheHeaders.From(entry, options.Targeted), entry.StatusCode, entry.RequestTime, entry.ResponseTime, options, entry.FreshnessOverride);

    public static StoredPolicy Create(in CacheHeaders headers, int status, DateTimeOffset requestTime, DateTimeOffset responseTime,
        CacheProxyOptions options, TimeSpan? freshnessOverride)
    {
        var cc = Freshness.Governing(headers, options.Targeted);
        var explicitExpiry = true;
        var lifetime = freshnessOverride ?? Freshness.Lifetime(headers, cc, status, responseTime,
            options.HeuristicFraction, options.HeuristicMaxLifetime, out explicitExpiry, out _);
        return new StoredPolicy
        {
            Lifetime = lifetime,
            CorrectedInitialAge = Freshness.CorrectedInitialAge(headers, requestTime, responseTime),
            NoCache = cc.NoCache,
            ExplicitlyFresh = explicitExpiry,
            NoStaleServing = cc.MustRevalidate || cc.ProxyRevalidate || cc.SharedMaxAge != CacheControl.Absent,
            StaleWhileRevalidate = cc.StaleWhileRevalidate,
            StaleIfError = cc.StaleIfError,
            ETag = headers.ETag,
            LastModified = headers.LastModified,
            LastModifiedDate = HttpDate.TryParse(headers.LastModified, responseTime, out var lm) ? lm : null,
            Date = HttpDate.TryParse(headers.Date, responseTime, out var date) ? date : null,
            EsiNegotiated = options.Targeted.SurrogateTarget is { } target && !StringValues.IsNullOrEmpty(headers.SurrogateControl)
                && CacheControl.Parse(headers.SurrogateControl, target).EsiContent,
        };
    }

    /// <summary>RFC 9111 §4.2.3 current_age.</summary>
    public TimeSpan CurrentAge(CacheEntry entry, DateTimeOffset now)
    {
        var resident = now - entry.ResponseTime;
        return CorrectedInitialAge + (resident > TimeSpan.Zero ? resident : TimeSpan.Zero);
    }

    /// <summary>How long the store keeps the entry: while fresh, plus any window in which it can still be served stale or revalidated.</summary>
    public TimeSpan TimeToLive(CacheProxyOptions options)
    {
        var remaining = Lifetime - CorrectedInitialAge;
        var stale = TimeSpan.Zero;
        if (StaleWhileRevalidate > 0)
        {
            stale = Freshness.Seconds(StaleWhileRevalidate);
        }
        if (StaleIfError > 0 && Freshness.Seconds(StaleIfError) > stale)
        {
            stale = Freshness.Seconds(StaleIfError);
        }
        // Kept past its windows when it can still be revalidated, or served while the upstream is unreachable.
        var retain = HasValidator || (options.ServeStaleWhenUpstreamUnreachable && !NoStaleServing && !NoCache);
        if (retain && options.StaleRetention > stale)
        {
            stale = options.StaleRetention;
        }
        var ttl = (remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero) + stale;
        return ttl;
    }
}
