using CacheProxy.Configuration;
using CacheProxy.Storage;

namespace CacheProxy.Caching;

/// <summary>
/// A stored response considered for a request at one moment: its derived facts, its age (RFC 9111 §4.2.3) and its
/// freshness lifetime — cut short at a soft purge. Every age and freshness of a stored response is computed by
/// <c>At</c>, and nowhere else.
/// </summary>
internal readonly struct Candidate
{
    private Candidate(CacheEntry entry, StoredPolicy policy, TimeSpan age, TimeSpan lifetime)
    {
        Entry = entry;
        Policy = policy;
        Age = age;
        Lifetime = lifetime;
    }

    /// <summary>The stored response; null for the default (no candidate).</summary>
    public CacheEntry? Entry { get; }

    public StoredPolicy Policy { get; }

    public TimeSpan Age { get; }

    /// <summary>The freshness lifetime: the response's own, or shorter when a soft purge ended it early.</summary>
    public TimeSpan Lifetime { get; }

    public bool IsFresh => Lifetime > Age;

    /// <summary>How stale it is (negative while fresh).</summary>
    public TimeSpan Staleness => Age - Lifetime;

    /// <summary><paramref name="stored"/> as it stands at <paramref name="now"/>, soft-purged at <paramref name="purgedSince"/> if it was.</summary>
    public static Candidate At(StoredEntry stored, CacheProxyOptions options, DateTimeOffset now, DateTimeOffset? purgedSince = null) =>
        At(stored.Entry, StoredPolicy.For(stored, options), now, purgedSince);

    /// <summary><paramref name="entry"/>, which no store holds yet (just freshened or joined), as it stands at <paramref name="now"/>.</summary>
    public static Candidate At(CacheEntry entry, CacheProxyOptions options, DateTimeOffset now) =>
        At(entry, StoredPolicy.Of(entry, options), now, null);

    private static Candidate At(CacheEntry entry, StoredPolicy policy, DateTimeOffset now, DateTimeOffset? purgedSince)
    {
        var age = policy.CurrentAge(entry, now);
        var lifetime = policy.Lifetime;
        if (purgedSince is { } purged)
        {
            // As if its lifetime had ended at the purge (its age then; a purge time that a clock's skew puts ahead of
            // now counts as now).
            var purgedFor = now > purged ? now - purged : TimeSpan.Zero;
            var ageAtPurge = age - purgedFor > TimeSpan.Zero ? age - purgedFor : TimeSpan.Zero;
            lifetime = ageAtPurge < lifetime ? ageAtPurge : lifetime;
        }
        return new Candidate(entry, policy, age, lifetime);
    }

    /// <summary>The stale response a background refresh validates: its facts, with no age of its own (nothing is served from it).</summary>
    public static Candidate ForRefresh(CacheEntry entry, StoredPolicy policy) => new(entry, policy, TimeSpan.Zero, policy.Lifetime);
}
