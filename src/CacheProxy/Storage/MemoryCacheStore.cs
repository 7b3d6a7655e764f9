using System.Collections.Concurrent;
using CacheProxy.Diagnostics;
using CacheProxy.Configuration;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Storage;

/// <summary>
/// The in-process tier: a least-recently-used map bounded by the bytes its entries hold. Reads take no lock: the
/// map is concurrent, and a hit moves its entry to the front of the order only when it is not already among the
/// most recent quarter (a hot entry is found without writing shared memory); writes, moves and evictions are
/// serialised by one lock.
/// Microsoft.Extensions.Caching.Memory is not used because its size limit rejects new entries until a
/// background compaction runs instead of evicting the least recently used ones at once.
/// </summary>
internal sealed class MemoryCacheStore : ISynchronousCacheStore, IStoredEntries
{
    private readonly ConcurrentDictionary<string, LinkedListNode<Slot>> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LinkedListNode<Slot>>.AlternateLookup<ReadOnlySpan<char>> _byChars;
    private readonly LinkedList<Slot> _lru = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly LastGoodOptions _options;
    private readonly ILogger _logger;
    private readonly CacheProxyMetrics _metrics;
    private long _bytes;
    private int _count;
    private long _moves; // entries put at the front so far: a slot's distance from the front is at most _moves - its Touched
    private bool _full;

    public MemoryCacheStore(TimeProvider time, LastGoodOptions options, ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _byChars = _map.GetAlternateLookup<ReadOnlySpan<char>>();
        _time = time;
        _options = options;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _metrics = metrics;
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.bytes", () => Bytes, "By", "Bytes held by the memory tier.");
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.entries", () => Count, "{entry}", "Entries held by the memory tier.");
        metrics.Meter.CreateObservableGauge("cacheproxy.memory.limit", () => _options.Current.MemoryTierSizeLimit, "By", "The memory tier's size limit.");
    }

    /// <summary>Gets the bytes the entries hold now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Gets the number of entries held now.</summary>
    public int Count => Volatile.Read(ref _count);


    // Reads are not timed: a sub-microsecond lookup on every hit, recorded through a histogram, measured as 1-2 us
    // of CPU per hit under load (docs/performance.md). Writes and removals are timed.
    public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => new(Get(key)?.Entry);

    /// <summary>The entry under the key, or null; synchronous: the memory tier never waits.</summary>
    internal StoredEntry? Get(string key) => _map.TryGetValue(key, out var node) ? Read(node, _time.GetUtcNow()) : null;

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
        stored = _byChars.TryGetValue(key, out var node) ? Read(node, now) : null;
        return stored is not null;
    }

    private StoredEntry? Read(LinkedListNode<Slot> node, DateTimeOffset now)
    {
        var slot = node.Value;
        if (now >= slot.ExpiresAt)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    RemoveNode(node);
                }
            }
            return null;
        }
        if (Volatile.Read(ref _moves) - Volatile.Read(ref slot.Touched) > Volatile.Read(ref _count) / 4)
        {
            lock (_lock)
            {
                if (node.List is not null && node != _lru.First)
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    slot.Touched = ++_moves;
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
        var limit = _options.Current.MemoryTierSizeLimit;
        var size = entry.Entry.EstimatedSize + (key.Length * 2);
        if (size > limit || timeToLive <= TimeSpan.Zero)
        {
            return;
        }
        var expiresAt = _time.GetUtcNow() + timeToLive;
        var evicted = 0;
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                RemoveNode(existing);
            }
            var node = _lru.AddFirst(new Slot(key, entry, size, expiresAt) { Touched = ++_moves });
            _map[key] = node;
            _count++;
            _bytes += size;
            while (_bytes > limit && _lru.Last is { } last)
            {
                RemoveNode(last);
                evicted++;
            }
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
            if (_map.TryGetValue(key, out var node))
            {
                RemoveNode(node);
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
            for (var node = _lru.First; node is not null;)
            {
                var next = node.Next;
                if (match(node.Value.Key, node.Value.Stored.Entry))
                {
                    RemoveNode(node);
                    removed++;
                }
                node = next;
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
            _lru.Clear();
            _count = 0;
            _bytes = 0;
            _full = false;
            return count;
        }
    }

    // Under the lock, for a node still in the list.
    private void RemoveNode(LinkedListNode<Slot> node)
    {
        _lru.Remove(node);
        _map.TryRemove(new KeyValuePair<string, LinkedListNode<Slot>>(node.Value.Key, node));
        _count--;
        _bytes -= node.Value.Size;
    }

    private sealed class Slot(string key, StoredEntry stored, long size, DateTimeOffset expiresAt)
    {
        public string Key { get; } = key;

        public StoredEntry Stored { get; } = stored;

        public long Size { get; } = size;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public long Touched; // _moves when the slot was last put at the front
    }
}
