namespace CacheProxy.Storage;

/// <summary>
/// Not a purge: the entry under <paramref name="Key"/> (a storage key, a variant's included) was written or removed
/// on one instance, so other instances drop the copies their memory tiers hold. Not remembered, not logged, and it
/// applies to nothing stored after it (<see cref="IInvalidationBus"/>).
/// </summary>
/// <param name="Key">The storage key whose entry changed.</param>
public readonly record struct EntryReplaced(string Key);
