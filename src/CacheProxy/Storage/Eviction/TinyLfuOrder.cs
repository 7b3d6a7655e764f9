using CacheProxy.Configuration;

namespace CacheProxy.Storage.Eviction;

/// <summary>
/// W-TinyLFU by bytes (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM TOS
/// 2017; the design of Caffeine's <c>BoundedLocalCache</c>): a new entry enters a small LRU window; what the window
/// pushes out is a candidate for the main space, a segmented LRU (probation, then protected once hit again), and is
/// admitted only when the <see cref="FrequencySketch"/> says its key was asked for more often than the entry it would
/// replace — so one-hit wonders and scans pass through the window without pushing hot entries out. A large candidate
/// is weighed against victim after victim, each by frequency. The window's share adapts to the traffic
/// (<see cref="WindowSimulations"/>): recency-heavy traffic grows it towards LRU, frequency-heavy traffic shrinks it.
/// A victim no one has asked for during part of an aging period is weighed at a fraction of its counted frequency,
/// so that yesterday's hot entries do not keep today's out until the sketch ages.
/// </summary>
internal sealed class TinyLfuOrder : EvictionOrder
{
    private const double InitialWindow = 0.01;
    private const double ProtectedShare = 0.8;
    private const int LargeDivisor = 64; // an entry over 1/64 of the limit skips the window
    private const int IdleDivisor = 2;
    private const int WarmFrequency = 6; // a candidate this warm is admitted at random now and then: an attacker cannot pin the victims

    private readonly NodeQueue _window = new("window");
    private readonly NodeQueue _probation = new("probation");
    private readonly NodeQueue _protected = new("protected");
    private readonly FrequencySketch _sketch = new();
    private ulong _random;
    private double _windowShare = InitialWindow;
    private readonly bool _adapts;
    private WindowSimulations? _simulations; // made with the sketch, when the cache is half full
    private long _periodStart; // lookups when the window's period began
    private long _limit;

    /// <param name="seed">Seeds the rare random admission; the memory tier passes a random one, a replay a fixed one (its results repeat).</param>
    /// <param name="fixedWindow">A window share that does not adapt (the small caches of <see cref="WindowSimulations"/>); null: it adapts.</param>
    public TinyLfuOrder(ulong seed = 0, double? fixedWindow = null)
    {
        _random = seed == 0 ? (ulong)Random.Shared.NextInt64() | 1 : seed;
        _windowShare = fixedWindow ?? InitialWindow;
        _adapts = fixedWindow is null;
    }

    public override EvictionPolicy Policy => EvictionPolicy.TinyLfu;

    public override long Bytes => _window.Bytes + _probation.Bytes + _protected.Bytes;

    public override int Count => _window.Count + _probation.Count + _protected.Count;

    public override long SketchBytes => _sketch.Bytes;

    /// <summary>The window's share of the limit now.</summary>
    public double WindowShare => _windowShare;

    protected override bool Counted(int hash, long lookups)
    {
        if (Volatile.Read(ref _simulations) is { } simulations && simulations.Sampled(hash))
        {
            simulations.Lookup(hash);
        }
        return _sketch.Increment(hash) | (_simulations is not null && lookups - _periodStart >= Period);
    }

    public override void Maintain()
    {
        _sketch.Halve();
        var lookups = Hits + Misses;
        if (_simulations is { } simulations && lookups - _periodStart >= Period)
        {
            _periodStart = lookups;
            _windowShare = simulations.Best();
            GrowWindow();
        }
    }

    // A larger window takes its share from the main space at once, least recent entries first (Caffeine's
    // increaseWindow): recency then rules the bytes it was given, not the frequencies of what sat there.
    private void GrowWindow()
    {
        var quota = WindowMax(_limit) - _window.Bytes;
        while ((_probation.First ?? _protected.First) is { } oldest && oldest.Size <= quota)
        {
            oldest.Queue!.Remove(oldest);
            _window.AddLast(oldest);
            quota -= oldest.Size;
        }
    }

    // Lookups per window period: as many as the sketch is wide (about the entries held), a tenth of an aging period.
    private long Period => _sketch.SampleSize / 10;

    public override bool WantsMove(PolicyNode node)
    {
        var lookups = Hits + Misses;
        if (lookups - Volatile.Read(ref node.Seen) > IdleStep / 8)
        {
            Volatile.Write(ref node.Seen, lookups); // rarely: a hot entry is written once per eighth of a step
        }
        return node.Queue == _probation || (node.Queue is { } queue && queue.Stale(node));
    }

    // Lookups without a hit that halve an entry's frequency when it is weighed as a victim: the aging the sketch does
    // for everyone every period, brought forward for entries no one asks for any more.
    private long IdleStep => Math.Max(_sketch.SampleSize / IdleDivisor, 1);

    public override void Move(PolicyNode node)
    {
        var queue = node.Queue;
        if (queue == _probation)
        {
            _probation.Remove(node);
            _protected.AddLast(node);
            var protectedMax = (long)((_limit - WindowMax(_limit)) * ProtectedShare);
            while (_protected.Bytes > protectedMax && _protected.First is { } demoted && demoted != node)
            {
                _protected.Remove(demoted);
                _probation.AddLast(demoted);
            }
        }
        else
        {
            queue?.MoveToLast(node);
        }
    }

    public override void Add(PolicyNode node, long limit, List<PolicyNode> evicted)
    {
        _limit = limit;
        node.Seen = Hits + Misses;
        var large = node.Size > limit / LargeDivisor;
        if (large)
        {
            _probation.AddLast(node); // a candidate at once, however large the window has grown: weighed by frequency, never let in by recency
        }
        else
        {
            _window.AddLast(node);
        }
        if (Bytes >= limit / 4)
        {
            _sketch.EnsureCapacity(Count); // made, and grown, as the tier fills: nothing is compared before then
            if (_adapts && _simulations is null)
            {
                _periodStart = Hits + Misses;
                Volatile.Write(ref _simulations, new WindowSimulations(Count));
            }
        }
        if (_simulations is { } simulations && simulations.Sampled(node.Hash))
        {
            simulations.Fill(node.Hash, node.Size, limit);
        }
        Evict(limit, evicted, large ? node : null);
    }

    public override void Replace(PolicyNode replaced, PolicyNode node, long limit, List<PolicyNode> evicted)
    {
        _limit = limit;
        SwapInto(replaced, node);
        Evict(limit, evicted);
    }

    public override void Remove(PolicyNode node) => node.Queue!.Remove(node);

    public override List<PolicyNode> Snapshot() => [.. _window.ToList(), .. _probation.ToList(), .. _protected.ToList()];

    public override void Clear()
    {
        _window.Clear();
        _probation.Clear();
        _protected.Clear();
    }

    private long WindowMax(long limit) => (long)(limit * _windowShare);

    private void Evict(long limit, List<PolicyNode> evicted, PolicyNode? large = null)
    {
        // The window's overflow becomes candidates at probation's most recent end, after a large new entry.
        var candidate = large;
        var windowMax = WindowMax(limit);
        while (_window.Bytes > windowMax && _window.First is { } oldest)
        {
            _window.Remove(oldest);
            _probation.AddLast(oldest);
            candidate ??= oldest;
        }
        EvictFromMain(candidate, limit, evicted);
    }

    // Caffeine's evictFromMain: victims from probation's least recent end (then protected's, then the window's)
    // against the candidates in the order they arrived, the less frequent of each pair evicted, until within the limit.
    private void EvictFromMain(PolicyNode? candidate, long limit, List<PolicyNode> evicted)
    {
        var victimQueue = _probation;
        var candidatesFromWindow = false;
        var victim = _probation.First;
        while (Bytes > limit)
        {
            if (candidate is null && !candidatesFromWindow)
            {
                candidate = _window.First;
                candidatesFromWindow = true;
            }
            if (victim is null && victimQueue != _window)
            {
                // Probation has no victim left: protected's least recent, then the window's, face the candidates.
                if (victimQueue == _probation)
                {
                    victimQueue = _protected;
                    victim = _protected.First;
                    continue;
                }
                if (victimQueue == _protected)
                {
                    victimQueue = _window;
                    victim = _window.First;
                    continue;
                }
            }
            if (candidate is null && victim is null)
            {
                break;
            }
            if (victim is null)
            {
                var next = candidate!.Next;
                Evicted(candidate, evicted);
                candidate = next;
            }
            else if (candidate is null)
            {
                var next = victim.Next;
                Evicted(victim, evicted);
                victim = next;
            }
            else if (candidate == victim)
            {
                victim = victim.Next;
                Evicted(candidate, evicted);
                candidate = null;
            }
            else if (candidate.Size > limit)
            {
                var next = candidate.Next;
                Evicted(candidate, evicted);
                Rejected++;
                candidate = next;
            }
            else if (Admit(candidate.Hash, victim))
            {
                var next = victim.Next;
                Evicted(victim, evicted);
                victim = next;
                candidate = candidate.Next;
            }
            else
            {
                var next = candidate.Next;
                Evicted(candidate, evicted);
                Rejected++;
                candidate = next;
            }
        }
    }

    private void Evicted(PolicyNode node, List<PolicyNode> evicted)
    {
        node.Queue!.Remove(node);
        evicted.Add(node);
    }

    private bool Admit(int candidate, PolicyNode victim)
    {
        var candidateFrequency = _sketch.Frequency(candidate);
        var idle = (Hits + Misses - Volatile.Read(ref victim.Seen)) / IdleStep;
        var victimFrequency = _sketch.Frequency(victim.Hash) >> (int)Math.Min(idle, 4);
        if (candidateFrequency > victimFrequency || (candidateFrequency == victimFrequency && candidateFrequency == FrequencySketch.MaxCount))
        {
            return true;
        }
        if (candidateFrequency >= WarmFrequency)
        {
            _random ^= _random << 13;
            _random ^= _random >> 7;
            _random ^= _random << 17;
            return (_random & 127) == 0;
        }
        return false;
    }
}
