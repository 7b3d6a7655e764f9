namespace CacheProxy.Storage;

/// <summary>
/// Collapses misses across gateway instances: of several instances missing the same key at once, one fetches it
/// and the others wait (bounded) for the shared tier to hold it. Optional; registered by CacheProxy.Redis.
/// </summary>
public interface ICacheFillCoordinator
{
    /// <summary>Tries to become the instance that fetches <paramref name="key"/>.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="lease">How long the claim lasts if its holder never releases it.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>
    /// A claim to dispose once the response was stored (or was not storable), or null when another instance holds
    /// it. When the coordinator cannot decide (backend down) it must return a claim: fetching is always allowed.
    /// </returns>
    ValueTask<IAsyncDisposable?> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Waits until the holder of the claim on <paramref name="key"/> released it, or the timeout passes.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>True when the claim was released in time; false on timeout.</returns>
    ValueTask<bool> WaitForReleaseAsync(string key, TimeSpan timeout, CancellationToken cancellationToken);
}
