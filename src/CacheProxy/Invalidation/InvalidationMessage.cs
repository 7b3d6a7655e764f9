namespace CacheProxy.Storage;

/// <summary>One invalidation, as instances tell each other.</summary>
/// <param name="Scope">What it applies to.</param>
/// <param name="Value">The key, key prefix or tag; empty for <see cref="InvalidationScope.All"/>.</param>
/// <param name="Soft">Mark the entries stale (revalidated before they are served again) instead of removing them.</param>
/// <param name="Time">When it was made: it applies to responses whose fill started before then.</param>
public readonly record struct InvalidationMessage(InvalidationScope Scope, string Value, bool Soft = false, DateTimeOffset Time = default);
