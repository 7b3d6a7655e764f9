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
    /// Tells every other instance that an entry changed here (<paramref name="notice"/>): best effort, not kept for an
    /// instance that is not listening now (after such a gap the bus delivers a soft <see cref="InvalidationScope.All"/>,
    /// which leaves every copy that instance holds stale).
    /// </summary>
    /// <param name="notice">The storage key whose entry changed.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <returns>False when it could not be handed over; never throws for an unavailable backend.</returns>
    ValueTask<bool> PublishAsync(EntryReplaced notice, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="onInvalidation"/> with every invalidation other instances publish — and, soft
    /// <see cref="InvalidationScope.All"/>, when messages may have been missed — and <paramref name="onReplaced"/>
    /// with every replaced-entry notice, until <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="onInvalidation">Applies one invalidation; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="onReplaced">Drops the copy a notice names; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> onInvalidation, Func<EntryReplaced, CancellationToken, ValueTask> onReplaced,
        CancellationToken cancellationToken);
}
