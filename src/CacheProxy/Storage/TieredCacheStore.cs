using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Storage;

/// <summary>
/// The memory tier in front of a shared tier. Reads: memory, then shared (a shared hit fills memory for no longer
/// than the shared tier keeps it). Writes and removals: both; removals are published so every instance drops its
/// memory copy. When the bus says invalidations may have been missed, the memory tier is emptied.
/// </summary>
internal sealed class TieredCacheStore : ICacheStore, IDisposable
{
    private readonly MemoryCacheStore _memory;
    private readonly ISharedCacheStore _shared;
    private readonly IInvalidationBus? _bus;
    private readonly ILogger _logger;

    public TieredCacheStore(MemoryCacheStore memory, ISharedCacheStore shared, IInvalidationBus? bus, ILoggerFactory loggers)
    {
        _memory = memory;
        _shared = shared;
        _bus = bus;
        _logger = loggers.CreateLogger(LogCategories.Store);
        if (_bus is not null)
        {
            _bus.Invalidated += OnInvalidated;
            _bus.InvalidationsMayBeMissed += OnInvalidationsMayBeMissed;
        }
    }

    /// <summary>Gets the memory tier, which the engine reads synchronously for fresh hits.</summary>
    internal MemoryCacheStore Memory => _memory;

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
    }

    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        await _memory.RemoveAsync(key, cancellationToken);
        await _shared.RemoveAsync(key, cancellationToken);
        if (_bus is not null)
        {
            await _bus.PublishAsync(key, cancellationToken);
        }
    }

    private void OnInvalidated(string key) => _memory.Remove(key);

    private void OnInvalidationsMayBeMissed()
    {
        var dropped = _memory.Clear();
        Log.MemoryTierDropped(_logger, dropped);
    }

    public void Dispose()
    {
        if (_bus is not null)
        {
            _bus.Invalidated -= OnInvalidated;
            _bus.InvalidationsMayBeMissed -= OnInvalidationsMayBeMissed;
        }
    }
}
