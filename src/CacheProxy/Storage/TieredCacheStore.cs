using System.Diagnostics.CodeAnalysis;
using CacheProxy.Invalidation;

namespace CacheProxy.Storage;

/// <summary>
/// The memory tier in front of a shared tier. Reads: memory, then shared (a shared hit fills memory for no longer
/// than the shared tier keeps it). Writes and removals: both, and each is announced on the
/// <see cref="IInvalidationBus"/> as an <see cref="EntryReplaced"/> notice, so that every other instance drops
/// its memory copy, which is now out of date (<see cref="Invalidations"/> applies what other instances announce).
/// </summary>
internal sealed class TieredCacheStore(MemoryCacheStore memory, ISharedCacheStore shared, IInvalidationBus? bus) : ISynchronousCacheStore, IStoredEntries
{
    public bool TryGet(ReadOnlySpan<char> key, [NotNullWhen(true)] out CacheEntry? entry) => memory.TryGet(key, out entry);

    public bool TryGetStored(ReadOnlySpan<char> key, [NotNullWhen(true)] out StoredEntry? stored) => memory.TryGetStored(key, out stored);

    public bool TryGetStored(ReadOnlySpan<char> key, DateTimeOffset now, [NotNullWhen(true)] out StoredEntry? stored) =>
        memory.TryGetStored(key, now, out stored);

    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        (await GetStoredAsync(key, cancellationToken))?.Entry;

    public async ValueTask<StoredEntry?> GetStoredAsync(string key, CancellationToken cancellationToken)
    {
        if (memory.Get(key) is { } local)
        {
            return local;
        }
        var hit = await shared.GetWithTimeToLiveAsync(key, cancellationToken);
        if (hit is not { } found)
        {
            return null;
        }
        return memory.Fill(key, found.Entry, found.TimeToLive) ?? new StoredEntry(found.Entry, filledHere: false);
    }

    public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await memory.SetAsync(key, entry, timeToLive, cancellationToken);
        await shared.SetAsync(key, entry, timeToLive, cancellationToken);
        await AnnounceAsync(key, cancellationToken); // other instances' copies are older than this one
    }

    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        await memory.RemoveAsync(key, cancellationToken);
        await shared.RemoveAsync(key, cancellationToken);
        await AnnounceAsync(key, cancellationToken);
    }

    private async ValueTask AnnounceAsync(string key, CancellationToken cancellationToken)
    {
        if (bus is not null)
        {
            await bus.PublishAsync(new EntryReplaced(key), cancellationToken);
        }
    }
}
