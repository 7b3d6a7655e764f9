namespace CacheProxy.Storage;

/// <summary>
/// A cache tier shared by many gateway instances (Redis). When one is registered, CacheProxy puts its memory tier
/// in front of it: reads try memory first and fill it from a shared hit; writes and removals go to both.
/// Implementations must never throw for an unavailable backend (treat it as a miss / dropped write) and must bound
/// every call in time.
/// </summary>
public interface ISharedCacheStore : ICacheStore
{
    /// <summary>Gets a short, fixed name of the tier for metrics and logs (e.g. <c>redis</c>).</summary>
    string TierName { get; }

    /// <summary>Reads an entry together with how long the tier will still keep it.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entry and its remaining time to live, or null on a miss or failure.</returns>
    ValueTask<SharedCacheHit?> GetWithTimeToLiveAsync(string key, CancellationToken cancellationToken);
}
