namespace CacheProxy.Storage;

/// <summary>
/// A place where stored responses live. The engine computes keys, Vary handling and freshness; a store only
/// keeps entries until their time to live has passed. Implementations must be thread-safe, must treat a
/// failure as a miss (never throw for an unavailable backend unless cancelled), and must not modify entries.
/// </summary>
/// <remarks>
/// <para>What a store receives, all of it to be kept as given and returned as it was stored:</para>
/// <list type="bullet">
/// <item>Responses: a status, the end-to-end header fields (no hop-by-hop field, no Age), the body, the request and
/// response times, a freshness lifetime a route or policy set, and the surrogate keys (tags).</item>
/// <item>Vary rules: under a URL's primary key, when its responses vary, an entry with <see cref="CacheEntry.StatusCode"/>
/// 0, a <c>Vary</c> field naming the request fields and a body of text lines (a generation, then the variants' keys). It
/// is an ordinary entry to the store; the variants themselves arrive under keys of their own.</item>
/// <item>Parts: a 206 stored as the part it carries, with its <c>Content-Range</c>, like any response.</item>
/// </list>
/// <para>
/// Keys are strings holding control characters as separators (the layout is the engine's; a store keeps them opaque,
/// encoding them if its backend needs to). An entry a store returns need not be the same instance it was given: a
/// <see cref="CacheEntry"/> is data only. What the engine keeps beside an entry in this process — a decoded rule or
/// policy, whether a client used a variant, where a request for it was routed, whether this process filled it — the
/// built-in memory tier holds next to each entry, never on it; with any other store it is decoded or learned again per
/// request, at the cost of those shortcuts (an answer before routing, which variant makes room first, a purge check
/// that reaches back by the clock skew), never of a correct answer.
/// </para>
/// </remarks>
public interface ICacheStore
{
    /// <summary>Reads the entry stored under <paramref name="key"/>.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entry, or null when there is none or it has expired.</returns>
    ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="entry"/> under <paramref name="key"/>, replacing what was there.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="entry">The entry; not modified afterwards by anyone.</param>
    /// <param name="timeToLive">How long the entry may be kept; after that it must not be returned.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the write is done or was dropped.</returns>
    ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Removes the entry stored under <paramref name="key"/>, if any.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns>A task that completes when the entry is gone.</returns>
    ValueTask RemoveAsync(string key, CancellationToken cancellationToken);
}
