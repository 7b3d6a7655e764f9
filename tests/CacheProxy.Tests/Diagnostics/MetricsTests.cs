using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CacheProxy.Tests.Diagnostics;

public sealed class MetricsTests
{
    private static MetricCollector<T> Collect<T>(ProxyFixture proxy, string instrument)
        where T : struct =>
        new(proxy.Services.GetRequiredService<IMeterFactory>(), CacheProxyTelemetry.MeterName, instrument);

    /// <summary>Observes the counters now: the total of each tag set, as an exporter would read them.</summary>
    private static Dictionary<string, long> Totals(MetricCollector<long> counter, string tag)
    {
        counter.RecordObservableInstruments();
        return counter.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags[tag]!).ToDictionary(g => g.Key, g => g.Last().Value);
    }

    [Fact]
    public async Task Requests_AreCountedByRouteAndCacheStatus()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.ETag = "\"e\"";
            if (c.Request.Headers.IfNoneMatch == "\"e\"")
            {
                c.Response.StatusCode = 304;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("12345");
        };
        using var requests = Collect<long>(proxy, "cacheproxy.requests");
        using var served = Collect<long>(proxy, "cacheproxy.served");
        using var fetched = Collect<long>(proxy, "cacheproxy.fetched");
        using var hitDuration = Collect<double>(proxy, "cacheproxy.hit.duration");
        using var upstream = Collect<double>(proxy, "cacheproxy.upstream.duration");

        await proxy.GetAsync("/m");                                  // miss
        await proxy.GetAsync("/m");                                  // hit
        proxy.Time.Advance(TimeSpan.FromSeconds(11));
        await proxy.GetAsync("/m");                                  // revalidated (304)
        await proxy.Client.PostAsync("/m", new StringContent("x"));  // bypass

        Assert.Equal(new Dictionary<string, long> { ["miss"] = 1, ["hit"] = 1, ["revalidated"] = 1, ["bypass"] = 1 }, Totals(requests, "cache_status"));
        Assert.All(requests.GetMeasurementSnapshot(), m => Assert.Equal("all", m.Tags["route"]));
        Assert.Equal(new Dictionary<string, long> { ["all"] = 10 }, Totals(served, "route")); // hit + revalidated, 5 bytes each
        // From the origin: the miss's body only (the 304 has none, the POST bypassed the cache's path): offload 10 of 15.
        Assert.Equal(new Dictionary<string, long> { ["all"] = 5 }, Totals(fetched, "route"));
        Assert.Single(hitDuration.GetMeasurementSnapshot());
        Assert.Equal(["2xx", "3xx", "2xx"], upstream.GetMeasurementSnapshot().Select(m => (string)m.Tags["status_class"]!));

        // The totals keep counting.
        await proxy.GetAsync("/m");                                  // miss (the POST invalidated it)
        await proxy.GetAsync("/m");                                  // hit
        Assert.Equal(2, Totals(requests, "cache_status")["hit"]);
        Assert.Equal(2, Totals(requests, "cache_status")["miss"]);
        Assert.Equal(15, Totals(served, "route")["all"]);
    }

    [Fact]
    public async Task StaleAndErrorOutcomes_AreCounted()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=1, stale-while-revalidate=60";
            return c.Response.WriteAsync("x");
        };
        using var requests = Collect<long>(proxy, "cacheproxy.requests");
        using var refreshes = Collect<long>(proxy, "cacheproxy.background_refreshes");

        await proxy.GetAsync("/s");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        await proxy.GetAsync("/s");
        await refreshes.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));

        Assert.Equal(new Dictionary<string, long> { ["miss"] = 1, ["stale"] = 1 }, Totals(requests, "cache_status"));
        Assert.Equal("updated", Assert.Single(refreshes.GetMeasurementSnapshot()).Tags["outcome"]);
    }

    [Fact]
    public async Task CollapsedWaits_AreCounted()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource();
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            c.Response.Headers.CacheControl = "max-age=60";
            await c.Response.WriteAsync("x");
        };
        using var waits = Collect<long>(proxy, "cacheproxy.collapsed_waits");

        var requests = Enumerable.Range(0, 3).Select(_ => proxy.GetAsync("/c")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(2);
        release.SetResult();
        await Task.WhenAll(requests);

        Assert.Equal(2, waits.GetMeasurementSnapshot().Count(m => (string)m.Tags["outcome"]! == "served"));
    }

    [Fact]
    public async Task ManagementCallOnThePublicPort_IsRefused_Logged_Counted()
    {
        // TestServer connections have local port 0, so any configured management port makes this the public side.
        await using var proxy = await ProxyFixture.StartAsync(o => o.Management.Port = 9999, mapManagement: true);
        using var refused = Collect<long>(proxy, "cacheproxy.management.refused");

        var response = await proxy.GetAsync("/health");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("wrong_port", Assert.Single(refused.GetMeasurementSnapshot()).Tags["reason"]);
        var log = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ManagementCallRefused");
        Assert.Equal("CacheProxy.Security", log.Category);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, log.Level);
        Assert.Equal(0, proxy.Origin.Calls);
    }

    private sealed class TenantDimension : CacheProxy.IRequestMetricDimension
    {
        public string Name => "tenant";

        public string? GetValue(HttpContext context) => context.Request.Headers["X-Tenant"].ToString();
    }

    [Fact]
    public async Task AnAppsDimension_TagsTheRequests_BoundedToItsValueLimit()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MetricDimensionValueLimit = 2,
            features: b => b.Services.AddSingleton<CacheProxy.IRequestMetricDimension, TenantDimension>());
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("x");
        };
        using var requests = Collect<long>(proxy, "cacheproxy.requests");
        using var hitDuration = Collect<double>(proxy, "cacheproxy.hit.duration");

        await proxy.GetAsync("/t", ("X-Tenant", "acme"));   // miss
        await proxy.GetAsync("/t", ("X-Tenant", "acme"));   // hit
        await proxy.GetAsync("/t", ("X-Tenant", "globex")); // hit
        await proxy.GetAsync("/t");                         // hit, no tenant: "none" would be a third value: "other"
        await proxy.GetAsync("/t", ("X-Tenant", "initech")); // past the limit of 2: "other"

        requests.RecordObservableInstruments();
        var counts = requests.GetMeasurementSnapshot().GroupBy(m => ((string)m.Tags["tenant"]!, (string)m.Tags["cache_status"]!))
            .ToDictionary(g => g.Key, g => g.Last().Value);
        Assert.Equal(new Dictionary<(string, string), long>
        {
            [("acme", "miss")] = 1, [("acme", "hit")] = 1, [("globex", "hit")] = 1, [("other", "hit")] = 2,
        }, counts);
        Assert.All(requests.GetMeasurementSnapshot(), m => Assert.Equal("all", m.Tags["route"]));
        Assert.All(hitDuration.GetMeasurementSnapshot(), m => Assert.Equal("all", m.Tags["route"])); // by route only
        Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "MetricDimensionCapped");
    }
}
