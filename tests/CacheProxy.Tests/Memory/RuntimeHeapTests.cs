using CacheProxy.Memory;

namespace CacheProxy.Tests.Memory;

[CollectionDefinition(nameof(RuntimeHeapTests), DisableParallelization = true)]
public sealed class RuntimeHeapCollection;

/// <summary>The runtime's GC, alone in the process: other tests' garbage would blur what one compaction gives back.</summary>
[Collection(nameof(RuntimeHeapTests))]
public sealed class RuntimeHeapTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public void Compact_GivesBackToTheOs_WhatGarbageHeld()
    {
        var heap = new RuntimeHeap();
        var held = new List<byte[]>();
        for (var i = 0; i < 64; i++)
        {
            held.Add(GC.AllocateUninitializedArray<byte>(4 * (int)MiB)); // 256 MiB, as a storm's buffers
            held[i].AsSpan().Fill(1); // touched: committed, and resident
        }
        GC.Collect();
        var before = heap.Read(); // a collection that saw all of it live
        held.Clear(); // garbage now, and no collection has run since

        heap.Compact();
        var after = heap.Read();

        Assert.True(after.Collections > before.Collections);
        Assert.True(after.Committed < before.Committed - (128 * MiB), $"committed {before.Committed / MiB} MiB before, {after.Committed / MiB} MiB after");
    }
}
