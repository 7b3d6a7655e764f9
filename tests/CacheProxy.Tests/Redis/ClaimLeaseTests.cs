using System.Globalization;
using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Redis;

/// <summary>
/// Claims on keys being fetched are short leases renewed while the fetch runs: a long fetch keeps collapsing
/// across instances, and an instance that dies mid-fetch stalls the key on the others for about one lease.
/// </summary>
public sealed class ClaimLeaseTests
{
    [Fact]
    public async Task AFetchLongerThanTheLease_KeepsItsClaim_SoAnotherInstanceStillWaitsForIt()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.Handler = async c =>
        {
            await release.Task;
            c.Response.Headers.CacheControl = "max-age=600";
            await c.Response.WriteAsync("fetched once");
        };
        // The default lease (3 s, renewed every second): a loaded test machine can stall a renewal for a few hundred
        // milliseconds, and a shorter lease made this test flaky (seen once in a full run with a 600 ms lease).
        await using var a = await RedisTierTests.GatewayAsync(origin, redis.Endpoint);
        await using var b = await RedisTierTests.GatewayAsync(origin, redis.Endpoint);
        await RedisTierTests.WaitForRedisAsync(a);
        await RedisTierTests.WaitForRedisAsync(b);

        var fromA = a.GetAsync("/long");
        await Signal.WaitUntilAsync(() => origin.Calls == 1);
        var claim = await redis.CliAsync("--scan", "--pattern", "test:l:*");
        Assert.NotEmpty(claim);
        // Renewals seen as the claim's time to live going up again; four of them (4 s) outlast the 3 s lease.
        var renewals = 0;
        var last = long.MaxValue;
        await Signal.WaitUntilAsync(async () =>
        {
            var ttl = long.Parse(await redis.CliAsync("PTTL", claim), CultureInfo.InvariantCulture);
            Assert.True(ttl > 0, "the claim expired while its fetch ran");
            renewals += ttl > last ? 1 : 0;
            last = ttl;
            return renewals >= 4;
        });
        var fromB = b.GetAsync("/long");
        await b.WaitForCollapseWaitersAsync(1);
        release.SetResult();
        var responses = await Task.WhenAll(fromA, fromB);

        Assert.Equal(1, origin.Calls);
        Assert.Contains("detail=collapsed", responses[1].CacheStatus(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInstanceKilledMidFetch_StallsTheKeyOnAnotherForAboutOneLease_NotTheCollapseTimeout()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var firstEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.Handler = async c =>
        {
            if (origin.Calls == 1)
            {
                firstEntered.TrySetResult();
                await Task.Delay(Timeout.Infinite, c.RequestAborted); // the fetch of the instance that will die
            }
            c.Response.Headers.CacheControl = "max-age=600";
            await c.Response.WriteAsync("fetched by the survivor");
        };
        await using var dying = GatewayProcess.Start("Production", origin.Address,
            ("CacheProxy__Redis__Configuration", redis.Endpoint), ("CacheProxy__Redis__ClaimLease", "00:00:01"),
            ("CacheProxy__CollapseTimeout", "00:01:00"));
        await dying.WaitStartedAsync();
        await dying.WaitHealthyAsync();
        await using var survivor = await RedisTierTests.GatewayAsync(origin, redis.Endpoint, o =>
        {
            o.KeyPrefix = "cacheproxy:"; // the sample gateway's
            o.ClaimLease = TimeSpan.FromSeconds(1);
        }, configure: o => o.CollapseTimeout = TimeSpan.FromMinutes(1));
        await RedisTierTests.WaitForRedisAsync(survivor);

        using var http = new HttpClient();
        using var first = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{dying.PublicPort}/hot");
        first.Headers.Host = "gateway.test";
        _ = http.SendAsync(first);
        await firstEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEmpty(await redis.CliAsync("--scan", "--pattern", "cacheproxy:l:*")); // it holds the claim
        await dying.KillAsync(); // no release, no announcement

        using var second = new HttpRequestMessage(HttpMethod.Get, "/hot");
        second.Headers.Host = "gateway.test";
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // half the collapse timeout
        var response = await survivor.Client.SendAsync(second, bound.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fetched by the survivor", await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(survivor.Logs.GetSnapshot(), r => r.Id.Name == "CollapseWaitTimedOut");
    }
}
