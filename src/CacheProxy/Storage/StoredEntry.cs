using System.Diagnostics.CodeAnalysis;

namespace CacheProxy.Storage;

/// <summary>
/// A stored <see cref="CacheEntry"/> with the engine's per-process memory beside it, held by the memory tier for as
/// long as it holds the entry: facts derived from its headers (<c>StoredPolicy</c>, a decoded Vary rule), whether a
/// lookup found the variant again (which variants make room first), the endpoint a routed GET took for it (hits
/// before routing), and whether this process filled it (the invalidation ledger's clock). None of it is persisted, and
/// none of it is a store's to keep: an entry from another store gets a fresh one per lookup, which costs only time —
/// the facts derived again, no answering before routing, purges reaching as far as for another instance's fill.
/// </summary>
internal sealed class StoredEntry(CacheEntry entry, bool filledHere)
{
    public CacheEntry Entry { get; } = entry;

    /// <summary>This process filled it, timing its request time by its own clock.</summary>
    public bool FilledHere { get; } = filledHere;

    /// <summary>Facts derived from the headers, computed on first use and reused.</summary>
    public object? Derived;

    /// <summary>A lookup found this variant again after it was stored: a client uses it.</summary>
    public bool Reused;

    /// <summary>Notes that a lookup found this variant: written once, so that hits make no shared write.</summary>
    public void MarkReused()
    {
        if (!Reused)
        {
            Reused = true;
        }
    }

    /// <summary>The endpoint a routed GET for this entry went to (<c>Caching.EarlyHits</c>).</summary>
    public object? EarlyRoute;

    /// <summary>A hit looked whether this entry is one to compress for its class (<c>Caching.DeferredCompression</c>).</summary>
    public bool CompressionChecked;

    /// <summary>Hits near the end of its freshness lifetime (<c>Caching.RefreshAhead</c>).</summary>
    public int NearExpiryHits;

    /// <summary>1 once a refresh ahead of it started: one per stored entry.</summary>
    public int RefreshedAhead;

    /// <summary>It replaced an entry a refresh ahead started for: the refresh's copy (the memory tier counts it wasted if it leaves unused).</summary>
    public bool FromRefreshAhead;

    /// <summary>Served as a fresh hit while refresh ahead is on (<c>Caching.RefreshAhead</c>): written once.</summary>
    public bool ServedFresh;
}

/// <summary>A store that keeps <see cref="StoredEntry"/>s: the memory tier, alone or in front of a shared tier.</summary>
internal interface IStoredEntries
{
    /// <summary>The entry under a key held in characters, synchronously from the memory tier.</summary>
    bool TryGetStored(ReadOnlySpan<char> key, [NotNullWhen(true)] out StoredEntry? stored);

    /// <summary>As <see cref="TryGetStored(ReadOnlySpan{char}, out StoredEntry?)"/>, its expiry checked at <paramref name="now"/> (the caller's one clock read).</summary>
    bool TryGetStored(ReadOnlySpan<char> key, DateTimeOffset now, [NotNullWhen(true)] out StoredEntry? stored);

    /// <summary>The entry under the key, from whichever tier has it.</summary>
    ValueTask<StoredEntry?> GetStoredAsync(string key, CancellationToken cancellationToken);
}
