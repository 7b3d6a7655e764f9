using System.Runtime;

namespace CacheProxy.Memory;

/// <summary>What the GC said at its last collection: the memory it holds from the OS, and how many collections ran.</summary>
/// <param name="Committed">Bytes the GC had committed at its last collection (<see cref="GCMemoryInfo.TotalCommittedBytes"/>).</param>
/// <param name="Collections">Collections so far (<see cref="GC.CollectionCount"/> of generation 0, which counts every collection).</param>
internal readonly record struct HeapReading(long Committed, int Collections);

/// <summary>The process's garbage-collected heap, as <see cref="MemoryReturn"/> reads and compacts it.</summary>
internal interface IManagedHeap
{
    /// <summary>Reads the GC's figures of its last collection.</summary>
    HeapReading Read();

    /// <summary>A full, blocking, compacting collection that gives back to the OS as much as it can.</summary>
    void Compact();
}

/// <summary>The runtime's GC.</summary>
internal sealed class RuntimeHeap : IManagedHeap
{
    public HeapReading Read() => new(GC.GetGCMemoryInfo().TotalCommittedBytes, GC.CollectionCount(0));

    public void Compact()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
