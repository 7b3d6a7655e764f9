using System.Collections.Concurrent;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Redis;

/// <summary>Refresh ahead on two instances sharing Redis: one conditional request per key for the fleet.</summary>
public sealed class RefreshAheadAcrossInstancesTests
{
    [Fact]
    public async Task TwoInstancesRefreshingAheadAtOnce_SendOneConditionalRequest()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var conditional = new ConcurrentQueue<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.Handler = async c =>
        {
            c.Response.Headers.CacheControl = "max-age=100";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                conditional.Enqueue(c.Request.Path);
                await release.Task; // the first instance's refresh holds the key's claim meanwhile
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            await c.Response.WriteAsync("hot");
        };
        static void Ahead(CacheProxyOptions o)
        {
            o.RefreshAhead.Enabled = true;
            o.RefreshAhead.MinHits = 1;
        }
        await using var a = await RedisTierTests.GatewayAsync(origin, redis.Endpoint, fakeClock: true, configure: Ahead);
        await using var b = await RedisTierTests.GatewayAsync(origin, redis.Endpoint, fakeClock: true, configure: Ahead);
        using var bRefreshes = b.Collect<long>("cacheproxy.refresh_ahead");

        await a.GetAsync("/hot");
        await RedisTierTests.WaitForStoredAsync(a, 1);
        Assert.StartsWith("CacheProxy; hit", (await b.GetAsync("/hot")).CacheStatus()); // from Redis, kept in b's memory
        a.Time.Advance(TimeSpan.FromSeconds(85));
        b.Time.Advance(TimeSpan.FromSeconds(85));

        await a.GetAsync("/hot"); // 15 s left: a starts a refresh, which waits at the origin
        await Signal.WaitUntilAsync(() => !conditional.IsEmpty);
        Assert.StartsWith("CacheProxy; hit", (await b.GetAsync("/hot")).CacheStatus()); // b starts one too ...
        var bAhead = b.Services.GetRequiredService<RefreshAhead>();
        await Signal.WaitUntilAsync(() => bRefreshes.GetMeasurementSnapshot().Any(m => Equals(m.Tags["outcome"], "started")) && bAhead.Running == 0);
        release.SetResult(); // ... which found the key claimed by a and ended
        await a.WaitForRefreshesAsync();

        Assert.Equal(["/hot"], conditional);
    }
}
