namespace CacheProxy.Invalidation;

/// <summary>What an invalidation applies to.</summary>
public enum InvalidationScope
{
    /// <summary>
    /// The responses stored for one URL: every entry whose cache key, up to the values key customizers add, is the
    /// value — its Vary variants included.
    /// </summary>
    Key = 0,

    /// <summary>Every entry whose cache key starts with the value.</summary>
    Prefix = 1,

    /// <summary>Every entry stored with the tag (surrogate key).</summary>
    Tag = 2,

    /// <summary>Every entry (also sent, soft, when the bus cannot vouch for what was purged meanwhile).</summary>
    All = 3,

    /// <summary>
    /// Not a purge: the entry under the storage key in the value was replaced by a newer one on another instance, so
    /// copies of the old one are dropped. Not remembered, not logged.
    /// </summary>
    Replaced = 4,
}

/// <summary>One invalidation, as instances tell each other.</summary>
/// <param name="Scope">What it applies to.</param>
/// <param name="Value">The key, key prefix or tag; empty for <see cref="InvalidationScope.All"/>.</param>
/// <param name="Soft">Mark the entries stale (revalidated before they are served again) instead of removing them.</param>
/// <param name="Time">When it was made: it applies to responses whose fill started before then.</param>
public readonly record struct InvalidationMessage(InvalidationScope Scope, string Value, bool Soft = false, DateTimeOffset Time = default);

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
