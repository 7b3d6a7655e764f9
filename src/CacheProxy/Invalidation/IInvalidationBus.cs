namespace CacheProxy.Invalidation;

/// <summary>What an invalidation removes.</summary>
public enum InvalidationScope
{
    /// <summary>The entry under one cache key.</summary>
    Key = 0,

    /// <summary>Every entry whose cache key starts with the value.</summary>
    Prefix = 1,

    /// <summary>Every entry stored with the tag (surrogate key).</summary>
    Tag = 2,

    /// <summary>Every entry (also sent when the bus may have missed messages: nothing held locally can be vouched for).</summary>
    All = 3,
}

/// <summary>One invalidation, as instances tell each other.</summary>
/// <param name="Scope">What it removes.</param>
/// <param name="Value">The key, key prefix or tag; empty for <see cref="InvalidationScope.All"/>.</param>
/// <param name="Soft">Mark the entries stale (they may still be revalidated) instead of removing them.</param>
public readonly record struct InvalidationMessage(InvalidationScope Scope, string Value, bool Soft = false);

/// <summary>
/// Carries invalidations between gateway instances, so an entry removed or replaced on one (unsafe method, purge, a
/// newer response stored) leaves the memory tier of every other. Registered by CacheProxy.Redis.
/// </summary>
public interface IInvalidationBus
{
    /// <summary>Tells every other instance about <paramref name="message"/>.</summary>
    /// <param name="message">The invalidation.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <returns>A task that completes when the message was handed to the bus (or dropped on failure).</returns>
    ValueTask PublishAsync(InvalidationMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="handler"/> with every message other instances publish, and with an
    /// <see cref="InvalidationScope.All"/> message when messages may have been missed, until
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="handler">Applies one message; it receives <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken);
}
