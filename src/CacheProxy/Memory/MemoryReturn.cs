using CacheProxy.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Memory;

/// <summary>
/// Gives memory back after a burst. The GC collects only when the process allocates, so a gateway that went quiet
/// after a connection storm keeps the heap the storm grew (hundreds of MiB after 10,000 connections) for as long as
/// it stays quiet. Every <see cref="Period"/> this reads the GC's figures; when no collection ran during the last
/// period (the process is quiet: a pause costs next to nothing) and the GC holds at least twice what it held after
/// the last compaction — or at startup, and never less than <see cref="Floor"/> — it runs one aggressive, compacting
/// collection, which decommits what it frees. Doubling bounds the cost: a heap that grows because the memory tier
/// fills is compacted at most once per doubling.
/// </summary>
internal sealed class MemoryReturn(IManagedHeap heap, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers) : BackgroundService
{
    /// <summary>How often the GC's figures are read; a period without a collection is a quiet one.</summary>
    internal static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    /// <summary>The least mark the heap must double from (64 MiB): under twice this, 128 MiB, nothing is compacted, however it grew.</summary>
    internal const long Floor = 64L << 20;

    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Lifecycle);
    private HeapReading _last;
    private long _baseline;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _last = heap.Read();
        _baseline = _last.Committed;
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Tick();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One period's reading, and the compaction when it is due; true when one ran.</summary>
    internal bool Tick()
    {
        var now = heap.Read();
        var quiet = now.Collections == _last.Collections;
        _last = now;
        if (!quiet || now.Committed < 2 * Math.Max(_baseline, Floor))
        {
            _baseline = Math.Min(_baseline, now.Committed); // a heap the GC shrank by itself lowers the mark
            return false;
        }
        heap.Compact();
        var after = heap.Read();
        (_last, _baseline) = (after, after.Committed);
        var returned = Math.Max(0, now.Committed - after.Committed);
        metrics.MemoryReturned.Add(returned);
        Log.MemoryReturned(_logger, now.Committed >> 20, after.Committed >> 20);
        return true;
    }
}
