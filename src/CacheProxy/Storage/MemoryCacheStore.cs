using System.Collections.Concurrent;
using CacheProxy.Diagnostics;
using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Storage.Eviction;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Storage;

/// <summary>
/// The in-process tier: a map bounded by the bytes its entries hold, which entries stay decided by an
/// <see cref="EvictionOrder"/> (<see cref="CacheProxyOptions.Eviction"/>: W-TinyLFU by default, LRU as an option).
/// Reads take no lock: the map is concurrent, every lookup is counted in the order's frequency sketch without one,
/// and a hit reorders its entry under the lock only when the order wants it (a hot entry is found without writing
/// shared memory); writes, moves and evictions are serialised by that one lock.
/// Microsoft.Extensions.Caching.Memory is not used because its size limit rejects new entries until a
/// background compaction runs instead of evicting at once, and it has no admission policy.
/// </summary>
internal sealed class MemoryCacheStore : ISynchronousCacheStore, IStoredEntries
{
    private readonly ConcurrentDictionary<string, Slot> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Slot>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly Lock _lock = new();
    private readonly List<PolicyNode> _evicted = []; // under the lock
    private readonly TimeProvider _time;
    private readonly LastGoodOptions _options;
    private readonly ILogger _logger;
    private readonly CacheProxyMetrics _metrics;
    private EvictionOrder _order;
    private long _bytes;
    private int _count;
    private bool _full;

    public MemoryCacheStore(TimeProvider time, LastGoodOptions options, ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _byChars = _map.GetAlternateLookup<ReadOnlySpan<char>>();
        _time = time;
        _options = options;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _metrics = metrics;
        _order = EvictionOrder.Create(options.Current.Eviction);
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.bytes", () => Bytes, "By", "Bytes held by the memory tier.");
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.entries", () => Count, "{entry}", "Entries held by the memory tier.");
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.limit", () => _options.Current.MemoryTierSizeLimit, "By", "The memory tier's size limit.");
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.sketch.bytes", () => Volatile.Read(ref _order).SketchBytes, "By",
            "Bytes the eviction policy's frequency sketch holds (0 with CacheProxy:Eviction=Lru).");
        metrics.Meter.CreateObservableCounter("cacheproxy.memory.lookups", () => Lookups, "{lookup}",
            "Lookups in the memory tier, by result: hit, or miss (not held, or expired).");
    }

    /// <summary>Gets the bytes the entries hold now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Gets the number of entries held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The policy in effect.</summary>
    public EvictionPolicy Policy => Volatile.Read(ref _order).Policy;

    /// <summary>Lookups so far, hits and misses, since the policy in effect started.</summary>
    public (long Hits, long Misses) LookupCounts => Volatile.Read(ref _order) is var order ? (order.Hits, order.Misses) : default;

    /// <summary>New entries the admission policy kept out so far.</summary>
    public long Rejected => Volatile.Read(ref _order).Rejected;

    private IEnumerable<Measurement<long>> Lookups
    {
        get
        {
            var (hits, misses) = LookupCounts;
            return [new(hits, new KeyValuePair<string, object?>("result", "hit")), new(misses, new KeyValuePair<string, object?>("result", "miss"))];
        }
    }

    // Reads are not timed: a sub-microsecond lookup on every hit, recorded through a histogram, measured as 1-2 us
    // of CPU per hit under load (docs/performance.md). Writes and removals are timed.
    public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => new(Get(key)?.Entry);

    /// <summary>The entry under the key, or null; synchronous: the memory tier never waits.</summary>
    internal StoredEntry? Get(string key) => _map.TryGetValue(key, out var slot) ? Read(slot, _time.GetUtcNow()) : Missed(key);

    public ValueTask<StoredEntry?> GetStoredAsync(string key, CancellationToken cancellationToken) => new(Get(key));

    /// <summary>The entry under a key held in characters (no string for the lookup).</summary>
    public bool TryGet(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CacheEntry? entry)
    {
        entry = TryGetStored(key, out var stored) ? stored.Entry : null;
        return entry is not null;
    }

    public bool TryGetStored(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredEntry? stored) =>
        TryGetStored(key, _time.GetUtcNow(), out stored);

    public bool TryGetStored(ReadOnlySpan<char> key, DateTimeOffset now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredEntry? stored)
    {
        stored = _byChars.TryGetValue(key, out var slot) ? Read(slot, now) : Missed(key);
        return stored is not null;
    }

    private StoredEntry? Missed(ReadOnlySpan<char> key)
    {
        CountLookup(string.GetHashCode(key), hit: false);
        return null;
    }

    private void CountLookup(int hash, bool hit)
    {
        var order = Volatile.Read(ref _order);
        if (order.Record(hash, hit))
        {
            lock (_lock)
            {
                order.Maintain();
            }
        }
    }

    private StoredEntry? Read(Slot slot, DateTimeOffset now)
    {
        if (now >= slot.ExpiresAt)
        {
            lock (_lock)
            {
                if (slot.Queue is not null)
                {
                    RemoveSlot(slot);
                }
            }
            CountLookup(slot.Hash, hit: false);
            return null;
        }
        CountLookup(slot.Hash, hit: true);
        var order = Volatile.Read(ref _order);
        if (order.WantsMove(slot))
        {
            lock (_lock)
            {
                if (slot.Queue is not null && order == _order)
                {
                    order.Move(slot);
                }
            }
        }
        return slot.Stored;
    }
    /// <summary>Stores an entry this process filled (the engine's writes, through the tiers or not).</summary>
    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        SetAsync(key, new StoredEntry(entry, filledHere: true), timeToLive);

    /// <summary>Keeps a copy of an entry another instance filled (a shared tier's hit); the copy held, or null when it is not kept.</summary>
    public StoredEntry? Fill(string key, CacheEntry entry, TimeSpan timeToLive)
    {
        var stored = new StoredEntry(entry, filledHere: false);
        _ = SetAsync(key, stored, timeToLive);
        return Get(key) is { } held && ReferenceEquals(held, stored) ? held : null;
    }

    private ValueTask SetAsync(string key, StoredEntry entry, TimeSpan timeToLive)
    {
        var started = _time.GetTimestamp();
        Set(key, entry, timeToLive);
        if (_metrics.StoreDuration.Enabled)
        {
            _metrics.StoreOperation("memory", "set", _time.GetElapsedTime(started), failed: false);
        }
        return default;
    }

    private void Set(string key, StoredEntry entry, TimeSpan timeToLive)
    {
        var settings = _options.Current;
        var limit = settings.MemoryTierSizeLimit;
        var size = entry.Entry.EstimatedSize + (key.Length * 2);
        if (size > limit || timeToLive <= TimeSpan.Zero)
        {
            return;
        }
        var slot = new Slot(key, entry, size, _time.GetUtcNow() + timeToLive);
        int evicted, rejected;
        lock (_lock)
        {
            if (_order.Policy != settings.Eviction)
            {
                Reorder(settings.Eviction, limit);
            }
            var rejectedBefore = _order.Rejected;
            _evicted.Clear();
            if (_map.TryGetValue(key, out var existing) && existing.Queue is not null)
            {
                entry.FromRefreshAhead = Volatile.Read(ref existing.Stored.RefreshedAhead) == 1;
                Left(existing);
                _order.Replace(existing, slot, limit, _evicted);
            }
            else
            {
                _order.Add(slot, limit, _evicted);
            }
            _map[key] = slot;
            foreach (var gone in _evicted)
            {
                var dropped = (Slot)gone;
                _map.TryRemove(new KeyValuePair<string, Slot>(dropped.Key, dropped));
                Left(dropped);
            }
            rejected = (int)(_order.Rejected - rejectedBefore);
            evicted = _evicted.Count - rejected;
            _evicted.Clear();
            Counted();
        }
        if (rejected > 0)
        {
            _metrics.Rejections.Add(rejected);
        }
        if (evicted > 0)
        {
            _metrics.Evictions.Add(evicted);
            if (!_full)
            {
                _full = true; // once per episode: cleared when the tier drains below 90% of its limit
                Log.MemoryTierFull(_logger, limit);
            }
            Log.MemoryTierEvicted(_logger, evicted, limit);
        }
        else if (_full && Bytes < limit / 10 * 9)
        {
            _full = false;
        }
    }

    // Under the lock: the policy changed on a reload. Every entry moves to a new order of it, least valuable first.
    private void Reorder(EvictionPolicy policy, long limit)
    {
        var order = EvictionOrder.Create(policy);
        foreach (var node in _order.Snapshot())
        {
            _order.Remove(node);
            order.Add(node, limit, _evicted);
        }
        foreach (var gone in _evicted)
        {
            var dropped = (Slot)gone;
            _map.TryRemove(new KeyValuePair<string, Slot>(dropped.Key, dropped));
        }
        _evicted.Clear();
        Volatile.Write(ref _order, order);
        Log.EvictionPolicyChanged(_logger, policy.ToString(), Count);
    }

    // Under the lock, after the order changed.
    private void Counted()
    {
        Interlocked.Exchange(ref _bytes, _order.Bytes);
        Volatile.Write(ref _count, _order.Count);
    }

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Remove(key);
        return default;
    }

    /// <summary>Removes the entry under <paramref name="key"/>, if any (the memory tier never waits); true when there was one.</summary>
    public bool Remove(string key)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var slot) && slot.Queue is not null)
            {
                RemoveSlot(slot);
                return true;
            }
            return false;
        }
    }

    /// <summary>Removes every entry <paramref name="match"/> selects (by key and entry); returns how many.</summary>
    public int RemoveWhere(Func<string, CacheEntry, bool> match)
    {
        var removed = 0;
        lock (_lock)
        {
            foreach (Slot slot in _order.Snapshot())
            {
                if (match(slot.Key, slot.Stored.Entry))
                {
                    RemoveSlot(slot);
                    removed++;
                }
            }
        }
        return removed;
    }

    /// <summary>Drops every entry; returns how many there were.</summary>
    public int Clear()
    {
        lock (_lock)
        {
            var count = _count;
            _map.Clear();
            _order.Clear();
            Counted();
            _full = false;
            return count;
        }
    }

    // Under the lock, for a slot still held.
    private void RemoveSlot(Slot slot)
    {
        _order.Remove(slot);
        _map.TryRemove(new KeyValuePair<string, Slot>(slot.Key, slot));
        Counted();
        Left(slot);
    }

    // An entry leaves the tier (replaced, removed, expired, evicted): a refresh ahead's copy no lookup used was wasted.
    private void Left(Slot slot)
    {
        if (slot.Stored.FromRefreshAhead && !slot.Stored.ServedFresh)
        {
            _metrics.RefreshAhead.Add(1, new KeyValuePair<string, object?>("outcome", "wasted"));
        }
    }

    private sealed class Slot(string key, StoredEntry stored, long size, DateTimeOffset expiresAt) : PolicyNode(key.GetHashCode(), size)
    {
        public string Key { get; } = key;

        public StoredEntry Stored { get; } = stored;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;
    }
}
