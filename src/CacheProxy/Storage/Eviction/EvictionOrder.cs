using CacheProxy.Configuration;

namespace CacheProxy.Storage.Eviction;

/// <summary>
/// Which entries a byte-bounded tier keeps: the memory tier's (<see cref="MemoryCacheStore"/>) and the replay's
/// (<see cref="Simulation.CacheReplay"/>), one class for both so that a replay predicts what the tier does.
/// <see cref="Record"/> and <see cref="WantsMove"/> take no lock and are called on every lookup;
/// every other member is called under the owner's one lock.
/// </summary>
internal abstract class EvictionOrder
{
    /// <summary>The policy's name, as configuration and reports spell it.</summary>
    public abstract EvictionPolicy Policy { get; }

    /// <summary>The bytes held.</summary>
    public abstract long Bytes { get; }

    /// <summary>The entries held.</summary>
    public abstract int Count { get; }

    /// <summary>The bytes the frequency sketch holds (0 for LRU).</summary>
    public virtual long SketchBytes => 0;

    private long _hits;
    private long _misses;

    /// <summary>New entries kept out so far because what they would have replaced was asked for more often.</summary>
    public long Rejected { get; protected set; }

    /// <summary>Lookups that found an entry, so far.</summary>
    public long Hits => Volatile.Read(ref _hits);

    /// <summary>Lookups that found none (or an expired one), so far.</summary>
    public long Misses => Volatile.Read(ref _misses);

    /// <summary>
    /// Counts a lookup of the key with <paramref name="hash"/>, hit or miss (a miss counts too: a key asked for often
    /// is admitted when it is stored at last); true when the owner should call <see cref="Maintain"/> (under its lock).
    /// </summary>
    public bool Record(int hash, bool hit)
    {
        var lookups = hit ? Interlocked.Increment(ref _hits) + Volatile.Read(ref _misses) : Interlocked.Increment(ref _misses) + Volatile.Read(ref _hits);
        return Counted(hash, lookups);
    }

    /// <summary>
    /// A lookup for an owner that runs alone (a replay, a small simulation): counted, maintenance done when asked for,
    /// and <paramref name="hit"/>, when the lookup found one, reordered.
    /// </summary>
    public void LookupAlone(int hash, PolicyNode? hit)
    {
        if (Record(hash, hit is not null))
        {
            Maintain();
        }
        if (hit is not null && WantsMove(hit))
        {
            Move(hit);
        }
    }

    /// <summary>What the policy does with a lookup <see cref="Record"/> counted (the <paramref name="lookups"/>-th); true to ask for <see cref="Maintain"/>.</summary>
    protected virtual bool Counted(int hash, long lookups) => false;

    /// <summary>Whether a hit on <paramref name="node"/> should take the lock and <see cref="Move"/> it.</summary>
    public abstract bool WantsMove(PolicyNode node);

    /// <summary>Reorders <paramref name="node"/> for a hit, if it is still held.</summary>
    public abstract void Move(PolicyNode node);

    /// <summary>Periodic work a <see cref="Record"/> asked for: aging the sketch, adapting the queues.</summary>
    public virtual void Maintain()
    {
    }

    /// <summary>
    /// Adds <paramref name="node"/> and evicts until at most <paramref name="limit"/> bytes are held; the nodes no longer
    /// held (<paramref name="node"/> itself when it was not admitted) are added to <paramref name="evicted"/>.
    /// </summary>
    public abstract void Add(PolicyNode node, long limit, List<PolicyNode> evicted);

    /// <summary>Puts <paramref name="node"/> where <paramref name="replaced"/> was (a new version of the entry keeps its standing), then evicts as <see cref="Add"/>.</summary>
    public abstract void Replace(PolicyNode replaced, PolicyNode node, long limit, List<PolicyNode> evicted);

    /// <summary>Removes <paramref name="node"/>, which is held.</summary>
    public abstract void Remove(PolicyNode node);

    /// <summary>Every node held, least valuable first within each queue (a snapshot: the caller may remove as it goes).</summary>
    public abstract List<PolicyNode> Snapshot();

    /// <summary>Drops every node.</summary>
    public abstract void Clear();

    /// <summary>A new, empty order of <paramref name="policy"/>.</summary>
    public static EvictionOrder Create(EvictionPolicy policy) => policy switch
    {
        EvictionPolicy.Lru => new LruOrder(),
        _ => new TinyLfuOrder(),
    };

    /// <summary>Swaps <paramref name="node"/> into <paramref name="replaced"/>'s place in its queue.</summary>
    protected static void SwapInto(PolicyNode replaced, PolicyNode node)
    {
        var queue = replaced.Queue!;
        var after = replaced.Previous;
        queue.Remove(replaced);
        queue.InsertAfter(after, node);
    }
}

/// <summary>Least recently used, by bytes: what nginx and Varnish do; <c>CacheProxy:Eviction=Lru</c>.</summary>
internal sealed class LruOrder : EvictionOrder
{
    private readonly NodeQueue _queue = new("lru");

    public override EvictionPolicy Policy => EvictionPolicy.Lru;

    public override long Bytes => _queue.Bytes;

    public override int Count => _queue.Count;

    public override bool WantsMove(PolicyNode node) => _queue.Stale(node);

    public override void Move(PolicyNode node)
    {
        if (node.Queue == _queue)
        {
            _queue.MoveToLast(node);
        }
    }

    public override void Add(PolicyNode node, long limit, List<PolicyNode> evicted)
    {
        _queue.AddLast(node);
        Evict(limit, evicted);
    }

    public override void Replace(PolicyNode replaced, PolicyNode node, long limit, List<PolicyNode> evicted)
    {
        SwapInto(replaced, node);
        _queue.MoveToLast(node);
        Evict(limit, evicted);
    }

    private void Evict(long limit, List<PolicyNode> evicted)
    {
        while (_queue.Bytes > limit && _queue.First is { } oldest)
        {
            _queue.Remove(oldest);
            evicted.Add(oldest);
        }
    }

    public override void Remove(PolicyNode node) => _queue.Remove(node);

    public override List<PolicyNode> Snapshot() => _queue.ToList();

    public override void Clear() => _queue.Clear();
}
