namespace CacheProxy.Storage;

/// <summary>An entry read from a shared tier, with the time it has left there.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="TimeToLive">How long the shared tier keeps it; the memory tier keeps its copy no longer.</param>
public readonly record struct SharedCacheHit(CacheEntry Entry, TimeSpan TimeToLive);
