namespace CacheProxy.Storage;

/// <summary>
/// A place where stored responses live. The engine computes keys, Vary handling and freshness; a store only
/// keeps entries until their time to live has passed. Implementations must be thread-safe, must treat a
/// failure as a miss (never throw for an unavailable backend unless cancelled), and must not modify entries.
/// </summary>
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
