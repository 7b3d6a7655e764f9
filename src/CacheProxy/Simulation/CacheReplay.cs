using CacheProxy.Configuration;
using CacheProxy.Storage.Eviction;

namespace CacheProxy.Simulation;

/// <summary>
/// Replays a trace through the memory tier's own eviction policies (the classes <c>MemoryCacheStore</c> runs) at
/// several sizes, offline, and counts what each would have answered: <c>cacheproxy simulate</c>. Each request is a
/// lookup (counted in the policy's frequency sketch, as the tier counts it), then, on a miss, a fill of the object's
/// size. Memory: the objects each configuration holds (about 100 bytes each), whatever the trace's length. Results
/// repeat for a trace: the policies' one random choice is seeded.
/// </summary>
public sealed class CacheReplay
{
    private readonly Run[] _runs;

    /// <param name="policies">The policies to compare.</param>
    /// <param name="cacheSizes">The cache sizes in bytes, each replayed with each policy.</param>
    public CacheReplay(IEnumerable<EvictionPolicy> policies, IEnumerable<long> cacheSizes)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(cacheSizes);
        var sizes = cacheSizes.ToArray();
        if (sizes.Any(size => size < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(cacheSizes), "Every cache size must be at least 1 byte.");
        }
        _runs = [.. policies.Distinct().SelectMany(policy => sizes.Distinct().Select(size => new Run(policy, size)))];
        if (_runs.Length == 0)
        {
            throw new ArgumentException("Give at least one policy and one cache size.", nameof(policies));
        }
    }

    /// <summary>Replays one request through every policy and size.</summary>
    public void Add(in TraceRequest request)
    {
        foreach (var run in _runs)
        {
            run.Add(request);
        }
    }

    /// <summary>Replays <paramref name="requests"/>; the policies and sizes share the work over the processors, each seeing every request in order.</summary>
    public void AddRange(IEnumerable<TraceRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        const int BatchSize = 8192;
        var batch = new TraceRequest[BatchSize];
        var filled = 0;
        Task? previous = null;
        foreach (var request in requests)
        {
            batch[filled++] = request;
            if (filled == BatchSize)
            {
                previous?.GetAwaiter().GetResult(); // one batch replays while the next is read
                cancellationToken.ThrowIfCancellationRequested();
                var full = batch;
                previous = Task.Run(() => Replay(full, BatchSize), cancellationToken);
                batch = new TraceRequest[BatchSize];
                filled = 0;
            }
        }
        previous?.GetAwaiter().GetResult();
        Replay(batch, filled);
    }

    private void Replay(TraceRequest[] batch, int count) =>
        Parallel.ForEach(_runs, run =>
        {
            for (var i = 0; i < count; i++)
            {
                run.Add(batch[i]);
            }
        });

    /// <summary>The results so far, by policy, then size.</summary>
    public IReadOnlyList<ReplayResult> Results =>
        [.. _runs.OrderBy(run => run.Order.Policy).ThenBy(run => run.Size).Select(run => run.Result)];

    private sealed class Run(EvictionPolicy policy, long size)
    {
        private readonly Dictionary<ulong, Node> _map = [];
        private readonly List<PolicyNode> _evicted = [];
        private long _requests;
        private long _hits;
        private long _bytes;
        private long _hitBytes;
        private double _originSeconds;

        public EvictionOrder Order { get; } = policy == EvictionPolicy.TinyLfu ? new TinyLfuOrder(seed: 0x9E3779B97F4A7C15UL) : EvictionOrder.Create(policy);

        public long Size { get; } = size;

        public ReplayResult Result => new(Order.Policy, Size, _requests, _hits, _bytes, _hitBytes, _originSeconds, Order.Rejected);

        public void Add(in TraceRequest request)
        {
            _requests++;
            _bytes += request.Size;
            var hash = (int)(request.Key ^ (request.Key >> 32));
            if (_map.TryGetValue(request.Key, out var node))
            {
                if (request.Time < node.ExpiresAt)
                {
                    _hits++;
                    _hitBytes += request.Size;
                    Order.LookupAlone(hash, node);
                    return;
                }
                Order.Remove(node); // expired: a miss, and a fresh copy fills
                _map.Remove(request.Key);
            }
            _originSeconds += request.OriginSeconds;
            Order.LookupAlone(hash, null);
            if (request.Size > Size || request.TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
            {
                return; // too large to store, or not to be stored
            }
            var fill = new Node(request.Key, hash, Math.Max(request.Size, 1), request.TimeToLive is { } t ? request.Time + t.TotalSeconds : double.PositiveInfinity);
            _map[request.Key] = fill;
            Order.Add(fill, Size, _evicted);
            foreach (Node gone in _evicted)
            {
                _map.Remove(gone.Key);
            }
            _evicted.Clear();
        }
    }

    private sealed class Node(ulong key, int hash, long size, double expiresAt) : PolicyNode(hash, size)
    {
        public ulong Key { get; } = key;

        public double ExpiresAt { get; } = expiresAt;
    }
}
