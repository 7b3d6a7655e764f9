using CacheProxy.Storage;

namespace CacheProxy.Caching;

/// <summary>
/// What <see cref="CacheLookup"/> found for a request (RFC 9111 §4.1): immutable, and replaced whole by every lookup,
/// so nothing of an earlier one can leak into the next (<see cref="CacheContext.Looked"/>).
/// </summary>
/// <param name="FetchKey">The key one upstream fetch is shared on: the variant's key when a Vary rule is known, else the primary key.</param>
/// <param name="Entry">The stored response that may answer the request, or null.</param>
/// <param name="VaryRuleFound">A Vary rule was found for the URL (a miss is then a vary-miss).</param>
/// <param name="KeyedOnAcceptEncoding">
/// The URL's Vary rule names Accept-Encoding: the request is keyed on, and forwarded with, its class
/// (<see cref="Http.AcceptEncoding.Class"/>), so the origin's choice of coding follows the key.
/// </param>
/// <param name="Part">A stored part of the representation (206) that does not cover the request, to combine with what the upstream sends.</param>
/// <param name="PurgedSince">When a soft purge (or the ledger's horizon) made <paramref name="Entry"/> stale, if one did.</param>
/// <param name="At">
/// When the store answered: the instant <paramref name="Entry"/>'s age and freshness are computed at. The memory tier's
/// own expiry is checked at the same instant, so a hit reads the wall clock once.
/// </param>
internal readonly record struct Lookup(string? FetchKey, StoredEntry? Entry, bool VaryRuleFound = false, bool KeyedOnAcceptEncoding = false,
    StoredEntry? Part = null, DateTimeOffset? PurgedSince = null, DateTimeOffset At = default)
{
    /// <summary>Nothing stored for <paramref name="key"/> (or the lookup was not made).</summary>
    public static Lookup Nothing(string? key) => new(key, null);

    /// <summary>The RFC 9211 forward reason of a request this lookup could not answer at all.</summary>
    public string MissReason => VaryRuleFound ? "vary-miss" : "miss";
}
