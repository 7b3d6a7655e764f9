using System.Globalization;
using System.Text;
using CacheProxy.Configuration;
using CacheProxy.Simulation;
using CacheProxy.Tests.Gateway;

namespace CacheProxy.Tests.Simulation;

public sealed class ReplayTests
{
    // The synthetic workloads through both policies at 1 % and 10 % of their bytes: W-TinyLFU at least LRU's hit ratio on
    // every one (see the one exception below), clearly ahead where frequency matters, and the table in docs/performance.md
    // is what this replay gives (the workloads and policies are deterministic).
    [Fact]
    public void TinyLfu_MatchesOrBeatsLru_OnEverySyntheticWorkload_AsDocsPerformanceRecords()
    {
        var summary = new Dictionary<string, (string Lru, string TinyLfu)>();
        var table = new StringBuilder("| workload | cache size | LRU hit ratio | W-TinyLFU hit ratio | LRU byte hit ratio | W-TinyLFU byte hit ratio |\n|---|---|---|---|---|---|\n");
        foreach (var workload in SyntheticWorkloads.All())
        {
            var replay = new CacheReplay([EvictionPolicy.Lru, EvictionPolicy.TinyLfu], workload.CacheSizes);
            replay.AddRange(workload.Trace);
            foreach (var size in workload.CacheSizes)
            {
                var lru = replay.Results.Single(r => r.Policy == EvictionPolicy.Lru && r.CacheSize == size);
                var lfu = replay.Results.Single(r => r.Policy == EvictionPolicy.TinyLfu && r.CacheSize == size);
                Assert.Equal(SyntheticWorkloads.Requests, lru.Requests);
                var share = (int)Math.Round(size * 100.0 / workload.CatalogueBytes);
                // One case is within 0.2 points below LRU: "shifting" at 10 %, where the hottest objects die every
                // 100,000 requests and the window needs its first periods to grow towards pure recency.
                Assert.True(lfu.HitRatio >= lru.HitRatio - 0.002, $"{workload.Name} at {share} %: W-TinyLFU {lfu.HitRatio:P2} < LRU {lru.HitRatio:P2}");
                if (workload.Name is "scan+zipf" or "one-hit-wonders")
                {
                    Assert.True(lfu.HitRatio >= lru.HitRatio + (share == 1 ? 0.05 : 0.02), $"{workload.Name} at {share} %: W-TinyLFU {lfu.HitRatio:P2}, LRU {lru.HitRatio:P2}");
                }
                table.Append(CultureInfo.InvariantCulture, $"| {workload.Name} | {share} % | {lru.HitRatio:P2} | {lfu.HitRatio:P2} | {lru.ByteHitRatio:P2} | {lfu.ByteHitRatio:P2} |\n");
                summary[workload.Name] = summary.TryGetValue(workload.Name, out var first)
                    ? (string.Create(CultureInfo.InvariantCulture, $"{first.Lru} / {lru.HitRatio:P2}"), string.Create(CultureInfo.InvariantCulture, $"{first.TinyLfu} / {lfu.HitRatio:P2}"))
                    : (lru.HitRatio.ToString("P2", CultureInfo.InvariantCulture), lfu.HitRatio.ToString("P2", CultureInfo.InvariantCulture));
            }
        }
        var doc = File.ReadAllText(Path.Combine(OperationsDocsTests.RepoRoot(), "docs", "performance.md")).ReplaceLineEndings("\n");
        Assert.True(doc.Contains(table.ToString(), StringComparison.Ordinal), "docs/performance.md should hold this table:\n" + table);
        // docs/caching.md's summary of four of them
        var caching = File.ReadAllText(Path.Combine(OperationsDocsTests.RepoRoot(), "docs", "caching.md"));
        foreach (var (name, row) in new[] { ("zipf-0.8", "Zipf 0.8"), ("scan+zipf", "scan + Zipf 0.9"), ("one-hit-wonders", "one-hit wonders, lognormal sizes"), ("shifting", "shifting popularity") })
        {
            var line = $"| {row} | {summary[name].Lru} | {summary[name].TinyLfu} |";
            Assert.True(caching.Contains(line, StringComparison.Ordinal), "docs/caching.md should hold: " + line);
        }
    }

    [Fact]
    public void SameTrace_SameResults()
    {
        var workload = SyntheticWorkloads.ScanAndZipf();
        var once = Replay(workload);
        var again = Replay(workload);
        Assert.Equal(once, again);

        static IReadOnlyList<ReplayResult> Replay(SyntheticWorkloads.Workload workload)
        {
            var replay = new CacheReplay([EvictionPolicy.TinyLfu], [workload.CacheSizes[0]]);
            replay.AddRange(workload.Trace.Take(200_000));
            return replay.Results;
        }
    }
}
