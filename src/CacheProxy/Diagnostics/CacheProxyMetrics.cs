using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CacheProxy.Diagnostics;

/// <summary>What a request through the cache came to; the <c>cache_status</c> tag of <c>cacheproxy.requests</c>.</summary>
internal enum CacheOutcome
{
    Hit,
    Miss,
    Stale,
    Revalidated,
    Bypass,
    Error,
}

/// <summary>
/// The instruments of the <c>CacheProxy</c> meter. Tags are bounded: route ids from configuration, cache status,
/// status class, tier, operation, outcome, error category — never a path, key or other user input.
/// </summary>
internal sealed class CacheProxyMetrics
{
    // Seconds; the OpenTelemetry default buckets are meant for milliseconds.
    internal static readonly double[] DurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly RequestMetricDimensions? _dimensions;

    public CacheProxyMetrics(IMeterFactory meterFactory, RequestMetricDimensions? dimensions = null)
    {
        _dimensions = dimensions is { Names.Count: > 0 } ? dimensions : null;
        var meter = meterFactory.Create(CacheProxyTelemetry.MeterName, CacheProxyTelemetry.Version);
        Meter = meter;
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        meter.CreateObservableCounter("cacheproxy.requests", ObserveRequests, "{request}", "Requests that passed through the cache, by route and cache status.");
        meter.CreateObservableCounter("cacheproxy.served", () => ObserveBytes(RouteTally.ServedSlot), "By", "Body bytes served from the cache, by route.");
        meter.CreateObservableCounter("cacheproxy.fetched", () => ObserveBytes(RouteTally.FetchedSlot), "By",
            "Body bytes received from the upstream on the cache's path (misses, revalidations, refreshes), by route: with cacheproxy.served, the origin offload.");
        UpstreamDuration = meter.CreateHistogram("cacheproxy.upstream.duration", "s", "Time from sending a request upstream until its response body was forwarded, by route and status class.", advice: advice);
        HitDuration = meter.CreateHistogram("cacheproxy.hit.duration", "s", "Time to answer a request from the cache, by route.", advice: advice);
        Evictions = meter.CreateCounter<long>("cacheproxy.memory.evictions", "{entry}", "Entries the memory tier evicted to stay within its size limit.");
        RefreshAhead = meter.CreateCounter<long>("cacheproxy.refresh_ahead", "{refresh}",
            "Refreshes ahead of expiry, by outcome: started; skipped (over CacheProxy:RefreshAhead's budget); wasted (a refreshed copy left the memory tier without a hit).");
        Rejections = meter.CreateCounter<long>("cacheproxy.memory.rejections", "{entry}",
            "New entries the memory tier's admission policy kept out: what they would have replaced was asked for more often (CacheProxy:Eviction=TinyLfu).");
        StoreDuration = meter.CreateHistogram("cacheproxy.store.duration", "s", "Duration of cache store operations, by tier and operation.", advice: advice);
        StoreFailures = meter.CreateCounter<long>("cacheproxy.store.failures", "{failure}", "Failed cache store operations, by tier and operation.");
        CollapsedWaits = meter.CreateCounter<long>("cacheproxy.collapsed_waits", "{request}", "Requests that waited for a concurrent fetch of the same key, by outcome.");
        CollapseWaiting = meter.CreateUpDownCounter<long>("cacheproxy.collapse.waiting", "{request}", "Requests waiting now for a concurrent fetch of the same key (in this instance or another).");
        BackgroundRefreshes = meter.CreateCounter<long>("cacheproxy.background_refreshes", "{refresh}", "stale-while-revalidate refreshes, by outcome.");
        Errors = meter.CreateCounter<long>("cacheproxy.errors", "{error}", "Failures, by category.");
        RefusedManagementCalls = meter.CreateCounter<long>("cacheproxy.management.refused", "{request}", "Management calls refused, by reason.");
        Purges = meter.CreateCounter<long>("cacheproxy.purges", "{request}", "Purge requests, by outcome: applied, not_published, rejected.");
        ConfigReloads = meter.CreateCounter<long>("cacheproxy.config.reloads", "{reload}",
            "Configuration reloads, by source (cacheproxy, proxy: YARP's routes and clusters) and result (applied, rejected: the last good configuration stays).");
        VariantsNotAdmitted = meter.CreateCounter<long>("cacheproxy.variants.not_admitted", "{response}",
            "Variants not stored because MaxVariantsPerUrl was reached and each stored variant was fetched or reused more often.");
        HitForPass = meter.CreateCounter<long>("cacheproxy.hit_for_pass", "{event}",
            "Hit-for-pass, by outcome: marked (a response not to be shared marked its key), passed (a request for a marked key went straight upstream), full (not marked: the bound of keys was reached).");
        TooLargeToStore = meter.CreateCounter<long>("cacheproxy.too_large", "{response}",
            "Storable responses streamed to the client but not stored: their body was larger than CacheProxy:MaxObjectSize.");
        CompressionSaved = meter.CreateCounter<long>("cacheproxy.compression.saved", "By",
            "Bytes by which each stored br or gzip representation is smaller than the identity response it was made from, by coding.");
        CaptureSkipped = meter.CreateCounter<long>("cacheproxy.capture.skipped", "{response}",
            "Storable responses streamed to the client but not stored for lack of memory: CacheProxy:CaptureMemoryLimit reached, or an allocation failed.");
        UpstreamRetries = meter.CreateCounter<long>("cacheproxy.upstream.retries", "{request}",
            "Requests sent upstream again because no connection could be made for them (bodiless GET, HEAD, OPTIONS, TRACE).");
        MaintenanceRefused = meter.CreateCounter<long>("cacheproxy.maintenance.refused", "{request}",
            "Requests answered 503 in maintenance mode: nothing stored could answer them.");
        UnkeyedHeaders = meter.CreateCounter<long>("cacheproxy.unkeyed_headers", "{field}",
            "Request fields the cache key ignores that were removed, keyed on or made the request bypass the cache, by header and action.");
        PurgedSelectors = meter.CreateCounter<long>("cacheproxy.purge.selectors", "{selector}", "URLs, tags and prefixes purged, by kind.");
        EsiFragments = meter.CreateCounter<long>("cacheproxy.esi.fragments", "{fragment}",
            "ESI includes of assembled pages, by outcome (ok, alt, continued, left_out, failed) and, for the others, the reason.");
        EsiMalformed = meter.CreateCounter<long>("cacheproxy.esi.malformed", "{page}", "ESI pages parsed with instructions left as text (event 1016).");
        GraphQLRequests = meter.CreateCounter<long>("cacheproxy.graphql.requests", "{request}",
            "Requests on GraphQL routes, by outcome: query (answered as a read), mutation, passed (uncached, event 1020), refused (event 1021).");
        GraphQLResponses = meter.CreateCounter<long>("cacheproxy.graphql.responses", "{response}",
            "GraphQL query responses read before storing, by outcome: stored, errors, private, max_age_zero, unreadable; tags_dropped when entity tags were over the bound (event 1022).");
        ExperimentAssignments = meter.CreateCounter<long>("cacheproxy.experiment.assignments", "{visitor}",
            "Experiment cookies set, by experiment, bucket and outcome: assigned (a new visitor), moved (its weights changed), reassigned (a value that was no bucket, event 1025).");
        GraphQLMutationPurges = meter.CreateCounter<long>("cacheproxy.graphql.mutation_purges", "{tag}", "Entity tags purged after mutations (event 1023).");
        MemoryReturned = meter.CreateCounter<long>("cacheproxy.memory.returned", "By",
            "Bytes the GC gave back to the OS in compactions run while the process was quiet after a burst (AddMemoryReturn).");
    }

    public Meter Meter { get; }

    public Counter<long> ConfigReloads { get; }

    public Counter<long> VariantsNotAdmitted { get; }

    public Counter<long> MaintenanceRefused { get; }

    public Counter<long> UpstreamRetries { get; }

    public Counter<long> HitForPass { get; }

    public Counter<long> TooLargeToStore { get; }

    public Counter<long> CaptureSkipped { get; }

    public Counter<long> CompressionSaved { get; }

    public Counter<long> UnkeyedHeaders { get; }

    public Counter<long> MemoryReturned { get; }

    public Counter<long> EsiFragments { get; }

    public Counter<long> EsiMalformed { get; }

    public Counter<long> GraphQLRequests { get; }

    public Counter<long> GraphQLResponses { get; }

    public Counter<long> GraphQLMutationPurges { get; }

    public Counter<long> ExperimentAssignments { get; }

    /// <summary>Counts one unkeyed request field handled; the header tag is bounded by the configured names.</summary>
    public void UnkeyedHeader(string header, Configuration.UnkeyedHeaderAction action) =>
        UnkeyedHeaders.Add(1, new KeyValuePair<string, object?>("header", header.ToLowerInvariant()), new KeyValuePair<string, object?>("action", action switch
        {
            Configuration.UnkeyedHeaderAction.Remove => "remove",
            Configuration.UnkeyedHeaderAction.Key => "key",
            _ => "bypass",
        }));

    public Histogram<double> UpstreamDuration { get; }

    public Histogram<double> HitDuration { get; }

    public Counter<long> Evictions { get; }

    public Counter<long> Rejections { get; }

    public Counter<long> RefreshAhead { get; }

    public Histogram<double> StoreDuration { get; }

    public Counter<long> StoreFailures { get; }

    public Counter<long> CollapsedWaits { get; }

    public UpDownCounter<long> CollapseWaiting { get; }

    public Counter<long> BackgroundRefreshes { get; }

    public Counter<long> Errors { get; }

    public Counter<long> RefusedManagementCalls { get; }

    public Counter<long> Purges { get; }

    public Counter<long> PurgedSelectors { get; }

    // cacheproxy.requests and cacheproxy.served are counted here and read by the meter when it collects: a Counter.Add
    // costs the listener's lookup of the tag set on every request, and these two are recorded on every hit (about
    // 0.2 us of a 1 us hit with the Prometheus exporter listening, PipelineHit benchmark in docs/performance.md).
    private readonly ConcurrentDictionary<string, RouteTally> _tallies = new(StringComparer.Ordinal);

    public void Request(string routeId, CacheOutcome outcome)
    {
        Tally(routeId).Add((int)outcome, 1);
        Activity.Current?.SetTag("cacheproxy.cache_status", Name(outcome));
    }

    /// <summary>
    /// A request answered from the cache: counted under <paramref name="metricKey"/> (the route id, or the route and the
    /// app's dimensions, <see cref="RequestMetricDimensions"/>), and timed from <paramref name="started"/> (a
    /// <see cref="TimeProvider"/> timestamp) by <paramref name="routeId"/>.
    /// </summary>
    public void Hit(string metricKey, string routeId, long started, TimeProvider time)
    {
        Request(metricKey, CacheOutcome.Hit);
        if (started != 0 && HitDuration.Enabled)
        {
            HitDuration.Record(time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("route", routeId));
        }
    }

    public void Served(string routeId, long bytes) => Tally(routeId).Add(RouteTally.ServedSlot, bytes);

    public void Fetched(string routeId, long bytes) => Tally(routeId).Add(RouteTally.FetchedSlot, bytes);

    private RouteTally Tally(string routeId) =>
        _tallies.TryGetValue(routeId, out var tally) ? tally : _tallies.GetOrAdd(routeId, static _ => new RouteTally());

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (var (route, tally) in _tallies)
        {
            for (var outcome = CacheOutcome.Hit; outcome <= CacheOutcome.Error; outcome++)
            {
                if (tally.Read((int)outcome) is var count and > 0)
                {
                    yield return _dimensions is null || route.IndexOf(RequestMetricDimensions.Separator) < 0
                        ? new(count, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("cache_status", Name(outcome)))
                        : new(count, _dimensions.Tags(route, "cache_status", Name(outcome)));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveBytes(int slot)
    {
        foreach (var (route, tally) in _tallies)
        {
            if (tally.Read(slot) is var bytes and > 0)
            {
                yield return new(bytes, new KeyValuePair<string, object?>("route", route));
            }
        }
    }

    /// <summary>
    /// A route's request counts by outcome and its served bytes, striped by processor so that cores counting hits
    /// at once do not contend for one cache line.
    /// </summary>
    private sealed class RouteTally
    {
        public const int ServedSlot = (int)CacheOutcome.Error + 1;
        public const int FetchedSlot = ServedSlot + 1;
        private const int Stride = 16; // longs per stripe: 128 bytes, so no two stripes share a cache line
        private static readonly int Stripes = Math.Min(Environment.ProcessorCount, 16);
        private readonly long[] _cells = new long[(Stripes + 1) * Stride]; // one stripe of padding in front

        public void Add(int slot, long value) =>
            Interlocked.Add(ref _cells[((1 + (Thread.GetCurrentProcessorId() % Stripes)) * Stride) + slot], value);

        public long Read(int slot)
        {
            long sum = 0;
            for (var stripe = 1; stripe <= Stripes; stripe++)
            {
                sum += Volatile.Read(ref _cells[(stripe * Stride) + slot]);
            }
            return sum;
        }
    }

    public void Error(ErrorCategory category)
    {
        if (Errors.Enabled)
        {
            Errors.Add(1, new KeyValuePair<string, object?>("category", ErrorInfo.Name(category)));
        }
    }

    public void StoreOperation(string tier, string operation, TimeSpan elapsed, bool failed)
    {
        var tags = new TagList { { "tier", tier }, { "operation", operation } };
        StoreDuration.Record(elapsed.TotalSeconds, tags);
        if (failed)
        {
            StoreFailures.Add(1, tags);
        }
    }

    public static string StatusClass(int status) => status switch
    {
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    public static string Name(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "hit",
        CacheOutcome.Miss => "miss",
        CacheOutcome.Stale => "stale",
        CacheOutcome.Revalidated => "revalidated",
        CacheOutcome.Bypass => "bypass",
        _ => "error",
    };
}
