namespace CacheProxy.Storage.Eviction;

/// <summary>
/// How <see cref="TinyLfuOrder"/> sizes its window (Caffeine's simulator, <c>MiniSimClimber</c>): a sample of the keys
/// (those whose hash falls in 1 of every <c>n</c> buckets) is replayed through small W-TinyLFU caches of
/// 1/<c>n</c> of the size, one per window share from 0 (pure frequency) to 1 (pure recency), and each period the
/// share whose cache hit most — over a decaying memory of periods — becomes the real window's. All the shares see the
/// same requests at once, so a change in the traffic does not read as a better or worse step, as it does for a hill
/// climber comparing one period with the last. A sampled lookup costs its caller one write to a ring of 1,024 hashes;
/// the ring is replayed into the small caches under a lock of their own — before each fill (so a miss comes before
/// its fill, as it happened), at the end of each period, and by the lookup that fills half of it. Lossy: a ring
/// overrun drops the oldest.
/// </summary>
internal sealed class WindowSimulations
{
    private static readonly double[] Shares = [0, 0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0];

    private const int RingSize = 1024;

    private readonly Mini[] _minis;
    private readonly int _sampleMask;
    private readonly List<PolicyNode> _evicted = [];
    private readonly int[] _ring = new int[RingSize];
    private readonly Lock _lock = new();
    private long _written;
    private long _drained; // under the lock

    /// <param name="entries">The entries the real cache holds now: the sample is as sparse as leaves each small cache about 256 of them.</param>
    public WindowSimulations(int entries)
    {
        var rate = (int)Math.Clamp(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(entries / 256, 1)), 1, 64);
        _sampleMask = rate - 1;
        Rate = rate;
        _minis = [.. Shares.Select(share => new Mini(share))];
    }

    /// <summary>One key in this many is sampled.</summary>
    public int Rate { get; }

    /// <summary>Whether the key with <paramref name="hash"/> is sampled.</summary>
    public bool Sampled(int hash) => (Spread(hash) & _sampleMask) == 0;

    /// <summary>Notes a lookup of a sampled key without a lock; the one that fills half the ring replays it.</summary>
    public void Lookup(int hash)
    {
        var n = Interlocked.Increment(ref _written) - 1;
        Volatile.Write(ref _ring[n & (RingSize - 1)], hash);
        if ((n & ((RingSize / 2) - 1)) == (RingSize / 2) - 1)
        {
            Drain();
        }
    }

    /// <summary>Replays the noted lookups into every small cache.</summary>
    public void Drain()
    {
        lock (_lock)
        {
            DrainHeld();
        }
    }

    private void DrainHeld()
    {
        var written = Volatile.Read(ref _written);
        if (written - _drained > RingSize)
        {
            _drained = written - RingSize; // overrun: the oldest were written over
        }
        for (; _drained < written; _drained++)
        {
            var hash = Volatile.Read(ref _ring[_drained & (RingSize - 1)]);
            foreach (var mini in _minis)
            {
                mini.Lookup(hash);
            }
        }
    }

    /// <summary>A fill of a sampled key, in every small cache that lacks it, after the lookups noted before it.</summary>
    public void Fill(int hash, long size, long limit)
    {
        lock (_lock)
        {
            DrainHeld();
            foreach (var mini in _minis)
            {
                mini.Fill(hash, size, Math.Max(limit / Rate, 1), _evicted);
            }
        }
    }

    /// <summary>Ends a period: the share whose small cache has hit most, over the periods so far with each earlier one counting half as much.</summary>
    public double Best()
    {
        lock (_lock)
        {
            DrainHeld();
            var best = _minis[0];
            foreach (var mini in _minis)
            {
                mini.Score = (mini.Score / 2) + mini.PeriodHits;
                mini.PeriodHits = 0;
                if (mini.Score > best.Score)
                {
                    best = mini;
                }
            }
            return best.Share;
        }
    }

    private static int Spread(int x)
    {
        var h = (uint)x * 0x9E3779B9u;
        return (int)(h >> 16);
    }

    private sealed class Mini(double share)
    {
        private readonly TinyLfuOrder _order = new(seed: 0x2545F4914F6CDD1DUL, fixedWindow: share);
        private readonly Dictionary<int, PolicyNode> _map = [];

        public double Share { get; } = share;

        public double Score;

        public long PeriodHits;

        public void Lookup(int hash)
        {
            var hit = _map.GetValueOrDefault(hash);
            _order.LookupAlone(hash, hit);
            if (hit is not null)
            {
                PeriodHits++;
            }
        }

        public void Fill(int hash, long size, long limit, List<PolicyNode> evicted)
        {
            if (_map.ContainsKey(hash) || size > limit)
            {
                return;
            }
            var node = new PolicyNode(hash, size);
            _map[hash] = node;
            _order.Add(node, limit, evicted);
            foreach (var gone in evicted)
            {
                _map.Remove(gone.Hash);
            }
            evicted.Clear();
        }
    }
}
