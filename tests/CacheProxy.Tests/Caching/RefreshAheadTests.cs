using System.Collections.Concurrent;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CacheProxy.Tests.Caching;

/// <summary>Refresh ahead of expiry (docs/caching.md): hot entries revalidated before they expire, within a budget.</summary>
public sealed class RefreshAheadTests
{
    // An origin whose responses live 100 s and carry an ETag; a request with it gets a 304. Conditional requests are counted.
    private static ConcurrentQueue<string> Serve(ProxyFixture proxy)
    {
        var conditional = new ConcurrentQueue<string>();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=100";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                conditional.Enqueue(c.Request.Path);
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("body of " + c.Request.Path);
        };
        return conditional;
    }

    private static long Count(MetricCollector<long> collector, string outcome) =>
        collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], outcome)).Sum(m => m.Value);

    // Two hits in the last fifth of the lifetime start one conditional refresh; the entry is then fresh past its old
    // expiry, a hit. Without refresh ahead that request is a revalidation on the client's time.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AHotEntryNearItsExpiry_IsRevalidatedInTheBackground_AndStaysAHit(bool enabled)
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new RouteCacheOptions { RefreshAhead = { Enabled = enabled } });
        var conditional = Serve(proxy);
        using var refreshes = proxy.Collect<long>("cacheproxy.refresh_ahead");

        await proxy.GetAsync("/hot");
        proxy.Time.Advance(TimeSpan.FromSeconds(50));
        await proxy.GetAsync("/hot"); // half-way: not near its expiry, does not count
        proxy.Time.Advance(TimeSpan.FromSeconds(35)); // 15 s left of 100
        var first = await proxy.GetAsync("/hot");
        var second = await proxy.GetAsync("/hot");
        if (enabled)
        {
            await proxy.WaitForRefreshesAsync();
        }
        Assert.Equal(enabled ? ["/hot"] : [], conditional);
        proxy.Time.Advance(TimeSpan.FromSeconds(20)); // past the first copy's expiry
        var after = await proxy.GetAsync("/hot");

        Assert.StartsWith("CacheProxy; hit", first.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.Equal("body of /hot", await after.Content.ReadAsStringAsync());
        if (enabled)
        {
            Assert.StartsWith("CacheProxy; hit", after.CacheStatus());
            Assert.Equal(2, proxy.Origin.Calls);
            Assert.Equal(1, Count(refreshes, "started"));
        }
        else
        {
            Assert.Contains("fwd=stale", after.CacheStatus()); // the client waited for the revalidation
            Assert.Empty(refreshes.GetMeasurementSnapshot());
        }
    }

    [Fact]
    public async Task OneHitNearExpiry_IsNotEnough_ButTheRoutesOwnMinHitsIs()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.RefreshAhead.Enabled = true;
            o.RefreshAhead.MinHits = 2;
            o.Routes["all"] = new RouteCacheOptions { RefreshAhead = { MinHits = 1, Threshold = 0.5 } };
        });
        var conditional = Serve(proxy);

        await proxy.GetAsync("/one");
        proxy.Time.Advance(TimeSpan.FromSeconds(60)); // 40 s left: within the route's half, not the default fifth
        await proxy.GetAsync("/one");
        await proxy.WaitForRefreshesAsync();

        Assert.Equal(["/one"], conditional);
    }

    // MaxPerSecond 1: the second hot key in the same second is skipped (it expires and is revalidated as usual); in
    // the next second refreshes start again. A refreshed copy nobody asked for is counted as wasted when it is replaced.
    [Fact]
    public async Task TheBudget_SkipsRefreshesOverIt_AndUnusedRefreshesCountAsWasted()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.RefreshAhead.Enabled = true;
            o.RefreshAhead.MinHits = 1;
            o.RefreshAhead.MaxPerSecond = 1;
        });
        var conditional = Serve(proxy);
        using var refreshes = proxy.Collect<long>("cacheproxy.refresh_ahead");
        await proxy.GetAsync("/a");
        await proxy.GetAsync("/b");
        await proxy.GetAsync("/c");
        proxy.Time.Advance(TimeSpan.FromSeconds(90));

        await proxy.GetAsync("/a");
        await proxy.WaitForRefreshesAsync();
        await proxy.GetAsync("/b"); // same second: over the budget
        proxy.Time.Advance(TimeSpan.FromSeconds(1));
        await proxy.GetAsync("/c");
        await proxy.WaitForRefreshesAsync(2);

        Assert.Equal(["/a", "/c"], conditional);
        Assert.Equal((2, 1), (Count(refreshes, "started"), Count(refreshes, "skipped")));

        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        await proxy.GetAsync("/c"); // the refreshed /c is used; the refreshed /a is not
        proxy.Time.Advance(TimeSpan.FromSeconds(200)); // both copies expire, and are revalidated on request
        await proxy.GetAsync("/a");
        await proxy.GetAsync("/c");

        Assert.Equal(1, Count(refreshes, "wasted"));
    }

    [Fact]
    public async Task BadSettings_AreRefusedAtStartup_WithTheirKeys()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o =>
        {
            o.RefreshAhead.Threshold = 1.5;
            o.RefreshAhead.MaxConcurrent = 0;
            o.Routes["all"] = new RouteCacheOptions { RefreshAhead = { MinHits = 0 } };
        }));

        Assert.Contains("CacheProxy:RefreshAhead:Threshold", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:RefreshAhead:MaxConcurrent", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Routes:all:RefreshAhead:MinHits", error.Message, StringComparison.Ordinal);
    }
}
