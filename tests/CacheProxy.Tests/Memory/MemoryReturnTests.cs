using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Memory;

public sealed class MemoryReturnTests
{
    private const long MiB = 1L << 20;
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    /// <summary>A heap whose figures the test sets; a compaction leaves <see cref="CompactsTo"/> committed.</summary>
    private sealed class ScriptedHeap : IManagedHeap
    {
        public long Committed;
        public int Collections;
        public long CompactsTo;
        public int Compactions;
        public readonly SemaphoreSlim Reads = new(0);

        public HeapReading Read()
        {
            var reading = new HeapReading(Interlocked.Read(ref Committed), Volatile.Read(ref Collections));
            Reads.Release();
            return reading;
        }

        public void Compact()
        {
            Interlocked.Increment(ref Compactions);
            Interlocked.Increment(ref Collections);
            Interlocked.Exchange(ref Committed, CompactsTo);
        }
    }

    private async Task<MemoryReturn> StartedAsync(ScriptedHeap heap)
    {
        var service = new MemoryReturn(heap, _time, _metrics, NullLoggerFactory.Instance);
        await service.StartAsync(CancellationToken.None); // reads the mark it measures growth from
        await heap.Reads.WaitAsync(TimeSpan.FromSeconds(30));
        return service;
    }

    [Fact]
    public async Task AQuietProcessHoldingTwiceItsMark_IsCompactedOnce_AndCountsWhatWasReturned()
    {
        using var returned = new MetricCollector<long>(_metrics.MemoryReturned);
        var heap = new ScriptedHeap { Committed = 40 * MiB, Collections = 7, CompactsTo = 60 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = 300 * MiB; // a connection storm's heap, and no collection since

        Assert.True(service.Tick());
        Assert.Equal(1, heap.Compactions);
        Assert.Equal(240 * MiB, Assert.Single(returned.GetMeasurementSnapshot()).Value);

        Assert.False(service.Tick()); // 60 MiB now: nothing more to give back
        Assert.Equal(1, heap.Compactions);
    }

    [Fact]
    public async Task AProcessThatIsCollecting_IsLeftAlone_UntilAPeriodPassesWithoutACollection()
    {
        var heap = new ScriptedHeap { Committed = 40 * MiB, CompactsTo = 60 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = 300 * MiB;

        heap.Collections++; // busy: the GC runs by itself
        Assert.False(service.Tick());
        heap.Collections++;
        Assert.False(service.Tick());
        Assert.Equal(0, heap.Compactions);

        Assert.True(service.Tick()); // a period without a collection
        Assert.Equal(1, heap.Compactions);
    }

    [Fact]
    public async Task AHeapUnderTheFloor_IsNeverCompacted_HoweverItGrew()
    {
        var heap = new ScriptedHeap { Committed = 10 * MiB, CompactsTo = 10 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = (2 * MemoryReturn.Floor) - MiB; // ten times the mark, under twice the floor

        Assert.False(service.Tick());
        Assert.Equal(0, heap.Compactions);
    }

    [Fact]
    public async Task AfterACompaction_TheHeapMustDoubleAgain_SoAFillingMemoryTierIsCompactedOncePerDoubling()
    {
        var heap = new ScriptedHeap { Committed = 40 * MiB, CompactsTo = 200 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = 260 * MiB;
        Assert.True(service.Tick()); // 200 MiB after it: the tier's entries are live

        heap.Committed = 350 * MiB;
        Assert.False(service.Tick());
        heap.Committed = 400 * MiB;
        heap.CompactsTo = 390 * MiB;
        Assert.True(service.Tick());
        Assert.Equal(2, heap.Compactions);
    }

    [Fact]
    public async Task AHeapTheGcShrankByItself_LowersTheMark()
    {
        var heap = new ScriptedHeap { Committed = 200 * MiB, CompactsTo = 60 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = 70 * MiB; // the memory tier was purged, and the GC gave the memory back
        heap.Collections++;
        Assert.False(service.Tick());

        heap.Committed = 150 * MiB; // a storm from there: more than twice the new mark
        Assert.True(service.Tick());
    }

    [Fact]
    public async Task EveryPeriod_TheHeapIsRead_AndCompactedWhenDue()
    {
        var heap = new ScriptedHeap { Committed = 40 * MiB, CompactsTo = 60 * MiB };
        using var service = await StartedAsync(heap);
        heap.Committed = 300 * MiB;

        _time.Advance(MemoryReturn.Period);
        await heap.Reads.WaitAsync(TimeSpan.FromSeconds(30)); // the period's reading
        await heap.Reads.WaitAsync(TimeSpan.FromSeconds(30)); // the reading after the compaction

        Assert.Equal(1, heap.Compactions);
        await service.StopAsync(CancellationToken.None);
    }
}
