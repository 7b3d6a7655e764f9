using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using static CacheProxy.Tests.Redis.RedisTierTests;

namespace CacheProxy.Tests.Redis;

/// <summary>
/// Redis failing in every way an operator meets: every client request still gets a correct 200, nothing wrong is
/// served, and nothing hangs (each request is bounded by a generous upper limit, not timed).
/// </summary>
public sealed class RedisFaultTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static async Task AssertCorrectAsync(ProxyFixture gateway, string path)
    {
        var response = await gateway.GetAsync(path).WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("body of " + path, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RedisKilledMidLoad_EveryRequestStillGetsACorrect200()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var gateway = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(gateway);
        var done = 0;
        var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var workers = Enumerable.Range(0, 8).Select(async worker =>
        {
            for (var i = 0; i < 40; i++)
            {
                await AssertCorrectAsync(gateway, $"/load/{(worker * 40 + i) % 25}");
                if (Interlocked.Increment(ref done) == 120)
                {
                    halfway.TrySetResult();
                }
            }
        }).ToList();
        await halfway.Task.WaitAsync(Bound);
        await redis.KillAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(320, done);
    }

    [Fact]
    public async Task RedisFull_WritesFailAsAStoreFailure_ClientsGetCorrect200s_AndItIsCounted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var gateway = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(gateway);
        using var failures = gateway.Collect<long>("cacheproxy.store.failures");
        // maxmemory below what Redis already uses, and no eviction: every write is refused with OOM from now on.
        await redis.CliAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await redis.CliAsync("CONFIG", "SET", "maxmemory", "1");

        for (var i = 0; i < 5; i++)
        {
            await AssertCorrectAsync(gateway, $"/full/{i}"); // a miss: fetched, its store write refused
            await AssertCorrectAsync(gateway, $"/full/{i}"); // the memory tier still answers
        }
        await AssertCorrectAsync(gateway, "/full/0");

        Assert.NotEmpty(failures.GetMeasurementSnapshot());
        Assert.Contains(gateway.Logs.GetSnapshot(), r => r.Message.Contains("OOM", StringComparison.Ordinal));
        Assert.True(origin.Calls <= 5 + 1, $"the origin was asked {origin.Calls} times for 5 URLs");
    }

    [Fact]
    public async Task RedisKilled_TheCircuitOpensOnTheConnectionSignal_AndNoCallIsTriedWhileDisconnected()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        // A failure ratio that these few requests cannot reach: only the connection signal can open the circuit.
        await using var gateway = await GatewayAsync(origin, redis.Endpoint, o => o.BreakerMinimumThroughput = 1000);
        await WaitForRedisAsync(gateway);
        await AssertCorrectAsync(gateway, "/before");
        using var failures = gateway.Collect<long>("cacheproxy.store.failures");

        await redis.KillAsync();
        await gateway.WaitForLogAsync("RedisBreakerOpened");
        var failedBefore = failures.GetMeasurementSnapshot().Count;
        for (var i = 0; i < 10; i++)
        {
            await AssertCorrectAsync(gateway, $"/disconnected/{i}");
        }

        Assert.Equal(failedBefore, failures.GetMeasurementSnapshot().Count); // skipped, not tried and failed (nor timed out)
        Assert.Contains("connection to Redis was lost", Assert.Single(gateway.Logs.GetSnapshot(), r => r.Id.Name == "RedisBreakerOpened").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedisPaused_RequestsDoNotWaitForIt()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var gateway = await GatewayAsync(origin, redis.Endpoint, o => o.OperationTimeout = TimeSpan.FromMilliseconds(100));
        await WaitForRedisAsync(gateway);
        await AssertCorrectAsync(gateway, "/before");

        // Redis answers nobody for 5 s. A redis-cli GET sent now returns only when the pause ends: every gateway
        // request below must be answered before it (a signal, not a stopwatch).
        await redis.CliAsync("CLIENT", "PAUSE", "5000", "ALL");
        var pauseEnded = redis.CliAsync("GET", "anything");
        for (var i = 0; i < 10; i++)
        {
            await AssertCorrectAsync(gateway, $"/paused/{i}");
        }
        await AssertCorrectAsync(gateway, "/before"); // still in the memory tier
        Assert.False(pauseEnded.IsCompleted, "the gateway waited for the paused Redis");
        Assert.Contains(gateway.Logs.GetSnapshot(), r => r.Id.Name == "RedisOperationFailed");
        await pauseEnded;
    }

    [Fact]
    public async Task RedisRestartedEmpty_MissesGoUpstream_AndTheTierFillsAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await AssertCorrectAsync(a, "/r");

        await redis.KillAsync();
        await redis.RestartEmptyAsync();
        await using var b = await GatewayAsync(origin, redis.Endpoint); // empty memory tier, empty Redis
        await WaitForRedisAsync(b);
        await AssertCorrectAsync(b, "/r");
        await WaitForStoredAsync(b, 1);
        await using var c = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(c);
        var hit = await c.GetAsync("/r");

        Assert.Equal(2, origin.Calls);
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
    }

    [Fact]
    public async Task RedisDown_OpensTheCircuit_LogsOnce_AndHealthIsDegradedNotUnhealthy()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var gateway = await GatewayAsync(origin, redis.Endpoint, o =>
        {
            o.BreakerMinimumThroughput = 4;
            o.BreakDuration = TimeSpan.FromSeconds(30);
        });
        await WaitForRedisAsync(gateway);

        await redis.KillAsync();
        for (var i = 0; i < 12; i++)
        {
            await AssertCorrectAsync(gateway, $"/down/{i}");
        }
        var health = await gateway.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var response = await gateway.Client.GetAsync("/health");

        Assert.Equal(HealthStatus.Degraded, health.Entries["redis"].Status);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // a degraded gateway still takes traffic
        Assert.Single(gateway.Logs.GetSnapshot(), r => r.Id.Name == "RedisBreakerOpened");
        await gateway.WaitForLogAsync("RedisConnectionFailed"); // raised by the client library when it notices
    }
}
