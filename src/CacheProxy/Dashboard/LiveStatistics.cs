using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;

namespace CacheProxy.Dashboard;

/// <summary>
/// What the cache is doing now, for <c>GET /stats</c>, the <c>cacheproxy stats</c> command and the live dashboard,
/// read in-process from the instance's own instruments (a <see cref="MeterListener"/> on its <c>CacheProxy</c> meter,
/// the way dotnet-counters reads them), so the figures are those Prometheus would scrape. A sample of every counter
/// is kept each second for a minute; rates, ratios and origin latency percentiles are the difference between the
/// sample now and the one a window ago. Listens to the upstream-duration histogram (recorded once per fetch) and to
/// counters, never to the per-hit duration, so a hit costs nothing more.
/// </summary>
internal sealed class LiveStatistics : IDisposable
{
    public const int HistorySeconds = 60;
    private static readonly double[] Bounds = CacheProxyMetrics.DurationBuckets;

    private readonly Meter _meter;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private readonly Sample?[] _history = new Sample?[HistorySeconds + 1];
    private readonly Sample _baseline;
    private int _next;

    // Counted as the instruments record.
    private readonly ConcurrentDictionary<string, long[]> _upstream = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _evictions;
    private long _rejections;
    private long _refreshStarted;
    private long _refreshSkipped;
    private long _refreshWasted;
    private long _compressionSaved;

    // Filled while the observable instruments report, under _gate.
    private Dictionary<string, RouteFigures> _collecting = new(StringComparer.Ordinal);
    private Gauges _gauges;

    public LiveStatistics(CacheProxyMetrics metrics, TimeProvider time)
    {
        _meter = metrics.Meter;
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Ours(instrument.Meter) && Listened(instrument.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        _baseline = Collect();
        _timer = time.CreateTimer(static state => ((LiveStatistics)state!).Keep(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The figures now, with rates over the last <paramref name="window"/> (or since listening began, when that is sooner).</summary>
    public StatsSnapshot Snapshot(TimeSpan window)
    {
        var now = Collect();
        Sample? oldestWithin = null, newestBefore = null;
        lock (_gate)
        {
            foreach (var sample in _history.Append(_baseline))
            {
                if (sample is null || sample.Timestamp >= now.Timestamp)
                {
                    continue;
                }
                if (_time.GetElapsedTime(sample.Timestamp, now.Timestamp) <= window)
                {
                    oldestWithin = oldestWithin is null || sample.Timestamp < oldestWithin.Timestamp ? sample : oldestWithin;
                }
                else
                {
                    newestBefore = newestBefore is null || sample.Timestamp > newestBefore.Timestamp ? sample : newestBefore;
                }
            }
        }
        var since = oldestWithin ?? newestBefore ?? now;
        return StatsSnapshot.Between(since, now, _time);
    }

    private void Keep()
    {
        var sample = Collect();
        lock (_gate)
        {
            _history[_next] = sample;
            _next = (_next + 1) % _history.Length;
        }
    }

    private Sample Collect()
    {
        lock (_gate)
        {
            _collecting = new Dictionary<string, RouteFigures>(StringComparer.Ordinal);
            _gauges = default;
            _listener.RecordObservableInstruments();
            foreach (var (route, buckets) in _upstream)
            {
                Route(route).Upstream = (long[])buckets.Clone(); // counts still moving: each read whole, the set not at one instant
            }
            var errors = 0L;
            foreach (var (_, count) in _errors)
            {
                errors += count;
            }
            return new Sample(_time.GetTimestamp(), _time.GetUtcNow(), _collecting, _gauges, Volatile.Read(ref _evictions), errors,
                Volatile.Read(ref _compressionSaved))
            {
                Rejections = Volatile.Read(ref _rejections),
                RefreshAhead = new RefreshCounts(Volatile.Read(ref _refreshStarted), Volatile.Read(ref _refreshSkipped), Volatile.Read(ref _refreshWasted)),
            };
        }
    }

    /// <summary>
    /// The core's meter, or a package's (<c>CacheProxy.*</c>: the Redis tier's gauges) from the same meter factory —
    /// not those of another host in the same process.
    /// </summary>
    private bool Ours(Meter meter) => ReferenceEquals(meter, _meter)
        || (meter.Name.StartsWith(CacheProxyTelemetry.MeterName + ".", StringComparison.Ordinal) && meter.Scope is not null
            && ReferenceEquals(meter.Scope, _meter.Scope));

    private static bool Listened(string name) => name is "cacheproxy.requests" or "cacheproxy.served" or "cacheproxy.fetched"
        or "cacheproxy.upstream.duration" or "cacheproxy.memory.evictions" or "cacheproxy.errors" or "cacheproxy.compression.saved"
        or "cacheproxy.memory.bytes" or "cacheproxy.memory.entries" or "cacheproxy.memory.limit" or "cacheproxy.redis.breaker_state"
        or "cacheproxy.redis.connected" or "cacheproxy.draining" or "cacheproxy.memory.lookups" or "cacheproxy.memory.rejections"
        or "cacheproxy.refresh_ahead";

    private void Record(Instrument instrument, double number, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (instrument.Name)
        {
            case "cacheproxy.requests" when Tag(tags, "cache_status") is { } status && Outcome(status) is int outcome:
                Route(Tag(tags, "route")).Requests[outcome] += (long)number;
                break;
            case "cacheproxy.served":
                Route(Tag(tags, "route")).Served += (long)number;
                break;
            case "cacheproxy.fetched":
                Route(Tag(tags, "route")).Fetched += (long)number;
                break;
            case "cacheproxy.upstream.duration":
                var buckets = _upstream.GetOrAdd(Tag(tags, "route") ?? string.Empty, static _ => new long[Bounds.Length + 1]);
                var i = Array.BinarySearch(Bounds, number);
                Interlocked.Increment(ref buckets[i >= 0 ? i : ~i]);
                break;
            case "cacheproxy.memory.evictions":
                Interlocked.Add(ref _evictions, (long)number);
                break;
            case "cacheproxy.memory.rejections":
                Interlocked.Add(ref _rejections, (long)number);
                break;
            case "cacheproxy.refresh_ahead":
                switch (Tag(tags, "outcome"))
                {
                    case "started": Interlocked.Add(ref _refreshStarted, (long)number); break;
                    case "skipped": Interlocked.Add(ref _refreshSkipped, (long)number); break;
                    case "wasted": Interlocked.Add(ref _refreshWasted, (long)number); break;
                }
                break;
            case "cacheproxy.memory.lookups" when Tag(tags, "result") == "hit":
                _gauges.MemoryHits = (long)number; // observed: the count since the policy started
                break;
            case "cacheproxy.memory.lookups":
                _gauges.MemoryMisses = (long)number;
                break;
            case "cacheproxy.compression.saved":
                Interlocked.Add(ref _compressionSaved, (long)number);
                break;
            case "cacheproxy.errors":
                _errors.AddOrUpdate(Tag(tags, "category") ?? "other", (long)number, (_, n) => n + (long)number);
                break;
            case "cacheproxy.memory.bytes":
                _gauges.MemoryBytes = (long)number;
                break;
            case "cacheproxy.memory.entries":
                _gauges.MemoryEntries = (long)number;
                break;
            case "cacheproxy.memory.limit":
                _gauges.MemoryLimit = (long)number;
                break;
            case "cacheproxy.redis.breaker_state":
                _gauges.RedisBreaker = (int)number;
                break;
            case "cacheproxy.redis.connected":
                _gauges.RedisConnected = number > 0;
                break;
            case "cacheproxy.draining":
                _gauges.Draining = number > 0;
                break;
        }
    }

    // Observable instruments report while Collect holds _gate, so the dictionary is not shared then.
    private RouteFigures Route(string? route)
    {
        route ??= string.Empty;
        if (!_collecting.TryGetValue(route, out var figures))
        {
            _collecting[route] = figures = new RouteFigures();
        }
        return figures;
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }
        return null;
    }

    private static int? Outcome(string status) => status switch
    {
        "hit" => (int)CacheOutcome.Hit,
        "miss" => (int)CacheOutcome.Miss,
        "stale" => (int)CacheOutcome.Stale,
        "revalidated" => (int)CacheOutcome.Revalidated,
        "bypass" => (int)CacheOutcome.Bypass,
        "error" => (int)CacheOutcome.Error,
        _ => null,
    };

    public void Dispose()
    {
        _timer.Dispose();
        _listener.Dispose();
    }

    internal sealed class RouteFigures
    {
        public long[] Requests { get; } = new long[(int)CacheOutcome.Error + 1];

        public long Served { get; set; }

        public long Fetched { get; set; }

        public long[] Upstream { get; set; } = new long[Bounds.Length + 1];
    }

    internal struct Gauges
    {
        public long MemoryBytes;
        public long MemoryEntries;
        public long MemoryLimit;
        public long MemoryHits;
        public long MemoryMisses;
        public int? RedisBreaker;
        public bool? RedisConnected;
        public bool Draining;
    }

    internal sealed record Sample(long Timestamp, DateTimeOffset Time, Dictionary<string, RouteFigures> Routes, Gauges Gauges, long Evictions, long Errors,
        long CompressionSaved)
    {
        /// <summary>New entries the memory tier's admission kept out, since statistics began.</summary>
        public long Rejections { get; init; }

        /// <summary>Refreshes ahead of expiry by outcome, since statistics began.</summary>
        public RefreshCounts RefreshAhead { get; init; }
    }

    /// <summary>Refreshes ahead of expiry: started, skipped over the budget, wasted.</summary>
    internal readonly record struct RefreshCounts(long Started, long Skipped, long Wasted);
}
