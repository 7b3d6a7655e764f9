using System.Diagnostics.CodeAnalysis;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Storage;

/// <summary>
/// The memory tier in front of a shared tier. Reads: memory, then shared (a shared hit fills memory for no longer
/// than the shared tier keeps it). Writes and removals: both, and each is published on the
/// <see cref="IInvalidationBus"/> so that every other instance drops its memory copy, which is now out of date.
/// Messages from other instances are applied to the memory tier; when the bus may have missed some, the memory tier
/// is emptied.
/// </summary>
internal sealed class TieredCacheStore : ISynchronousCacheStore, IDisposable
{
    private readonly MemoryCacheStore _memory;
    private readonly ISharedCacheStore _shared;
    private readonly IInvalidationBus? _bus;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _subscription = new();

    public TieredCacheStore(MemoryCacheStore memory, ISharedCacheStore shared, IInvalidationBus? bus, ILoggerFactory loggers)
    {
        _memory = memory;
        _shared = shared;
        _bus = bus;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _bus?.Subscribe(ApplyAsync, _subscription.Token);
    }

    public bool TryGet(ReadOnlySpan<char> key, [NotNullWhen(true)] out CacheEntry? entry) => _memory.TryGet(key, out entry);

    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var local = await _memory.GetAsync(key, cancellationToken);
        if (local is not null)
        {
            return local;
        }
        var shared = await _shared.GetWithTimeToLiveAsync(key, cancellationToken);
        if (shared is not { } hit)
        {
            return null;
        }
        await _memory.SetAsync(key, hit.Entry, hit.TimeToLive, cancellationToken);
        return hit.Entry;
    }

    public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        await _memory.SetAsync(key, entry, timeToLive, cancellationToken);
        await _shared.SetAsync(key, entry, timeToLive, cancellationToken);
        await PublishAsync(key, cancellationToken); // other instances' copies are older than this one
    }

    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        await _memory.RemoveAsync(key, cancellationToken);
        await _shared.RemoveAsync(key, cancellationToken);
        await PublishAsync(key, cancellationToken);
    }

    private ValueTask PublishAsync(string key, CancellationToken cancellationToken) =>
        _bus?.PublishAsync(new InvalidationMessage(InvalidationScope.Key, key), cancellationToken) ?? default;

    // Soft invalidations are applied as hard ones here: dropping the memory copy is always safe, since the shared
    // tier still answers for the entry.
    private ValueTask ApplyAsync(InvalidationMessage message, CancellationToken cancellationToken)
    {
        switch (message.Scope)
        {
            case InvalidationScope.Key:
                _memory.Remove(message.Value);
                break;
            case InvalidationScope.Prefix:
                _memory.RemoveWhere((key, _) => key.StartsWith(message.Value, StringComparison.Ordinal));
                break;
            case InvalidationScope.Tag:
                _memory.RemoveWhere((_, entry) => entry.Tags.Contains(message.Value, StringComparer.Ordinal));
                break;
            default:
                Log.MemoryTierDropped(_logger, _memory.Clear());
                break;
        }
        return default;
    }

    public void Dispose() => _subscription.Cancel();
}
