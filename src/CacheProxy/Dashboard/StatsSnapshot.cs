using CacheProxy.Diagnostics;
using CacheProxy.Management;

namespace CacheProxy.Dashboard;

/// <summary>
/// The body of <c>GET /stats</c> and of each dashboard event: the figures over the last window (rates, hit ratio,
/// origin latency), totals since the instance started, the memory tier, the Redis circuit, drain and maintenance
/// state and the recent purges. Hit ratio is (hit + stale + revalidated) / (those + miss), as in the Grafana dashboard.
/// </summary>
internal sealed record StatsSnapshot(DateTimeOffset Time, double WindowSeconds, Figures All, IReadOnlyList<RouteStats> Routes, Totals Totals,
    MemoryStats Memory, RedisStats? Redis, bool Draining, MaintenanceStats? Maintenance, IReadOnlyList<PurgeRecord> RecentPurges)
{
    /// <summary>Gets the forwarding of purges to CDNs: null when none is configured.</summary>
    public CdnStats? Cdn { get; init; }

    public static StatsSnapshot Between(LiveStatistics.Sample since, LiveStatistics.Sample now, TimeProvider time)
    {
        var seconds = Math.Max(time.GetElapsedTime(since.Timestamp, now.Timestamp).TotalSeconds, 0);
        var empty = new LiveStatistics.RouteFigures();
        var all = new LiveStatistics.RouteFigures();
        var allBefore = new LiveStatistics.RouteFigures();
        var routes = new List<RouteStats>();
        foreach (var (route, figures) in now.Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var before = since.Routes.GetValueOrDefault(route) ?? empty;
            routes.Add(new RouteStats(route, Figures.Between(before, figures, seconds)));
            Add(all, figures);
            Add(allBefore, before);
        }
        var errors = now.Errors - since.Errors;
        var gauges = now.Gauges;
        return new StatsSnapshot(now.Time, Math.Round(seconds, 3), Figures.Between(allBefore, all, seconds) with { Errors = errors }, routes,
            new Totals(all.Requests.Sum(), all.Served, all.Fetched, now.CompressionSaved, now.Errors),
            new MemoryStats(gauges.MemoryBytes, gauges.MemoryLimit, gauges.MemoryEntries, now.Evictions, now.Evictions - since.Evictions)
            {
                HitRatio = TierHitRatio(since.Gauges, gauges),
                Rejections = now.Rejections,
                RejectionsInWindow = now.Rejections - since.Rejections,
                RefreshAhead = new RefreshAheadStats(now.RefreshAhead.Started, now.RefreshAhead.Skipped, now.RefreshAhead.Wasted,
                    now.RefreshAhead.Started - since.RefreshAhead.Started),
            },
            gauges.RedisBreaker is int breaker
                ? new RedisStats(breaker switch { 0 => "closed", 1 => "open", _ => "half-open" }, gauges.RedisConnected ?? false)
                : null,
            gauges.Draining, null, []);
    }

    // The memory tier's own hits per lookup over the window; null without lookups (or when a reload of the policy reset the counts).
    private static double? TierHitRatio(LiveStatistics.Gauges since, LiveStatistics.Gauges now)
    {
        var hits = now.MemoryHits - since.MemoryHits;
        var lookups = hits + now.MemoryMisses - since.MemoryMisses;
        return hits < 0 || lookups <= 0 ? null : Math.Round((double)hits / lookups, 4);
    }

    private static void Add(LiveStatistics.RouteFigures sum, LiveStatistics.RouteFigures figures)
    {
        for (var i = 0; i < sum.Requests.Length; i++)
        {
            sum.Requests[i] += figures.Requests[i];
        }
        sum.Served += figures.Served;
        sum.Fetched += figures.Fetched;
        for (var i = 0; i < sum.Upstream.Length; i++)
        {
            sum.Upstream[i] += figures.Upstream[i];
        }
    }
}

/// <summary>A route's figures (or every route's) over the window.</summary>
internal sealed record RouteStats(string Route, Figures Figures);

/// <summary>
/// Requests in the window by cache status, per second, the hit ratio (null without a hit or miss), body bytes served
/// from the cache and fetched from the origin, the share of bytes the cache answered (offload), and the origin's
/// p50 and p99 latency in milliseconds estimated from the upstream-duration histogram's buckets as Prometheus's
/// histogram_quantile does (null without a fetch).
/// </summary>
internal sealed record Figures(double RequestsPerSecond, double? HitRatio, long Requests, long Hits, long Stale, long Misses, long Revalidated,
    long Bypass, long Errors, long ServedBytes, long FetchedBytes, double? ByteOffload, double? OriginP50Ms, double? OriginP99Ms)
{
    public static Figures Between(LiveStatistics.RouteFigures before, LiveStatistics.RouteFigures now, double seconds)
    {
        long Delta(CacheOutcome outcome) => now.Requests[(int)outcome] - before.Requests[(int)outcome];
        var (hits, stale, misses, revalidated) = (Delta(CacheOutcome.Hit), Delta(CacheOutcome.Stale), Delta(CacheOutcome.Miss), Delta(CacheOutcome.Revalidated));
        var requests = now.Requests.Sum() - before.Requests.Sum();
        var answered = hits + stale + revalidated;
        var (served, fetched) = (now.Served - before.Served, now.Fetched - before.Fetched);
        var latency = new long[now.Upstream.Length];
        for (var i = 0; i < latency.Length; i++)
        {
            latency[i] = now.Upstream[i] - before.Upstream[i];
        }
        return new Figures(seconds > 0 ? Math.Round(requests / seconds, 2) : 0, answered + misses > 0 ? Math.Round((double)answered / (answered + misses), 4) : null,
            requests, hits, stale, misses, revalidated, Delta(CacheOutcome.Bypass), Delta(CacheOutcome.Error), served, fetched,
            served + fetched > 0 ? Math.Round((double)served / (served + fetched), 4) : null, Quantile(latency, 0.5), Quantile(latency, 0.99));
    }

    /// <summary>The quantile of the bucketed durations in milliseconds, interpolated within its bucket; the top bound when it falls past the last.</summary>
    internal static double? Quantile(long[] buckets, double q)
    {
        var total = buckets.Sum();
        if (total == 0)
        {
            return null;
        }
        var bounds = CacheProxyMetrics.DurationBuckets;
        var rank = q * total;
        long below = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            if (below + buckets[i] >= rank && buckets[i] > 0)
            {
                if (i == bounds.Length)
                {
                    return bounds[^1] * 1000;
                }
                var lower = i == 0 ? 0 : bounds[i - 1];
                var seconds = lower + ((bounds[i] - lower) * (rank - below) / buckets[i]);
                return Math.Round(seconds * 1000, 3);
            }
            below += buckets[i];
        }
        return bounds[^1] * 1000;
    }
}

/// <summary>Counts since the instance started (evictions and errors: since statistics began, at startup).</summary>
internal sealed record Totals(long Requests, long ServedBytes, long FetchedBytes, long CompressionSavedBytes, long Errors);

/// <summary>
/// The memory tier: bytes held and its limit, entries, evictions since start and in the window; its own hit ratio over
/// the window (a Redis hit is a memory miss), the new entries admission kept out, and refreshes ahead of expiry.
/// </summary>
internal sealed record MemoryStats(long Bytes, long Limit, long Entries, long Evictions, long EvictionsInWindow)
{
    public double? HitRatio { get; init; }

    public long Rejections { get; init; }

    public long RejectionsInWindow { get; init; }

    public RefreshAheadStats RefreshAhead { get; init; } = new(0, 0, 0, 0);
}

/// <summary>Refreshes ahead of expiry since start by outcome, and started in the window.</summary>
internal sealed record RefreshAheadStats(long Started, long Skipped, long Wasted, long StartedInWindow);

/// <summary>The Redis tier's circuit (closed, open, half-open) and connection; absent when Redis is not configured.</summary>
internal sealed record RedisStats(string Circuit, bool Connected);

/// <summary>Maintenance mode as it holds now.</summary>
internal sealed record MaintenanceStats(bool Enabled, string Source, double RetryAfterSeconds);

/// <summary>
/// Purges forwarded to CDNs (docs/cdn.md): the providers, how many forwardings wait and how many are dead letters
/// (each counted up to 10, <c>More</c> past it: <c>GET /purge/forwarding</c> lists more), and the newest of both.
/// </summary>
internal sealed record CdnStats(IReadOnlyList<string> Providers, string Outbox, int Pending, int Failed, bool More, IReadOnlyList<ForwardingView> Latest);
