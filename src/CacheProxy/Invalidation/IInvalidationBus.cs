namespace CacheProxy.Storage;

/// <summary>
/// Carries invalidations between gateway instances, so a purge on one holds on all of them, and an entry replaced on
/// one leaves the memory tier of every other. Registered by CacheProxy.Redis.
/// </summary>
public interface IInvalidationBus
{
    /// <summary>Tells every other instance about <paramref name="message"/>.</summary>
    /// <param name="message">The invalidation.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <returns>
    /// True when the bus holds it — every instance hears it now or when it reconnects; false when it could not be
    /// handed over (the backend is down). Never throws for an unavailable backend.
    /// </returns>
    ValueTask<bool> PublishAsync(InvalidationMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="handler"/> with every message other instances publish — and, soft
    /// <see cref="InvalidationScope.All"/>, when messages may have been missed — until
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="handler">Applies one message; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken);
}
