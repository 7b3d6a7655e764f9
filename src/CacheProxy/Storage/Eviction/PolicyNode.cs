namespace CacheProxy.Storage.Eviction;

/// <summary>An entry as an <see cref="EvictionOrder"/> sees it: its weight, its key's hash and its place in one of the order's queues.</summary>
internal class PolicyNode(int hash, long size)
{
    /// <summary>The key's hash, as the order's sketch counts it.</summary>
    public int Hash { get; } = hash;

    /// <summary>The bytes the entry is weighed at.</summary>
    public long Size { get; } = size;

    internal PolicyNode? Previous;
    internal PolicyNode? Next;
    internal NodeQueue? Queue;

    /// <summary>The queue's moves when the node was last put at its most recent end.</summary>
    internal long Touched;

    /// <summary>The order's lookups when the node was last seen, roughly (updated only when it has moved on by a fraction of an aging period).</summary>
    internal long Seen;
}

/// <summary>A queue of nodes in access order, least recent first, with the bytes and count it holds: intrusive, no allocation per move.</summary>
internal sealed class NodeQueue(string name)
{
    private PolicyNode? _first;
    private PolicyNode? _last;

    public string Name { get; } = name;

    public long Bytes;

    public int Count;

    /// <summary>Nodes put at the most recent end so far: a node's distance from that end is at most Moves − its Touched.</summary>
    public long Moves;

    public PolicyNode? First => _first;

    public void AddLast(PolicyNode node)
    {
        node.Queue = this;
        node.Previous = _last;
        node.Next = null;
        if (_last is null)
        {
            _first = node;
        }
        else
        {
            _last.Next = node;
        }
        _last = node;
        node.Touched = ++Moves;
        Bytes += node.Size;
        Count++;
    }

    public void Remove(PolicyNode node)
    {
        if (node.Previous is null)
        {
            _first = node.Next;
        }
        else
        {
            node.Previous.Next = node.Next;
        }
        if (node.Next is null)
        {
            _last = node.Previous;
        }
        else
        {
            node.Next.Previous = node.Previous;
        }
        node.Previous = node.Next = null;
        node.Queue = null;
        Bytes -= node.Size;
        Count--;
    }

    /// <summary>Inserts <paramref name="node"/> after <paramref name="after"/> (at the least recent end when null), its Touched kept.</summary>
    public void InsertAfter(PolicyNode? after, PolicyNode node)
    {
        node.Queue = this;
        node.Previous = after;
        node.Next = after is null ? _first : after.Next;
        if (node.Next is null)
        {
            _last = node;
        }
        else
        {
            node.Next.Previous = node;
        }
        if (after is null)
        {
            _first = node;
        }
        else
        {
            after.Next = node;
        }
        Bytes += node.Size;
        Count++;
    }

    /// <summary>The nodes, least recent first.</summary>
    public List<PolicyNode> ToList()
    {
        var list = new List<PolicyNode>(Count);
        for (var node = _first; node is not null; node = node.Next)
        {
            list.Add(node);
        }
        return list;
    }

    /// <summary>Puts <paramref name="node"/>, which is in this queue, at its most recent end.</summary>
    public void MoveToLast(PolicyNode node)
    {
        if (node != _last)
        {
            Remove(node);
            AddLast(node);
        }
    }

    /// <summary>Whether a hit on <paramref name="node"/> should move it: it is not among the most recent quarter (a hot node is found without a write).</summary>
    public bool Stale(PolicyNode node) => Volatile.Read(ref Moves) - Volatile.Read(ref node.Touched) > Volatile.Read(ref Count) / 4;

    /// <summary>Empties the queue, each node detached.</summary>
    public void Clear()
    {
        for (var node = _first; node is not null;)
        {
            var next = node.Next;
            node.Previous = node.Next = null;
            node.Queue = null;
            node = next;
        }
        _first = _last = null;
        Bytes = 0;
        Count = 0;
    }
}
