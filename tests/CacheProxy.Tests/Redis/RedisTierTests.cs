using System.Net;
using CacheProxy.Storage;
using CacheProxy.Invalidation;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Redis;

/// <summary>Several gateway instances sharing one real redis-server.</summary>
public sealed class RedisTierTests
{
    internal static Task<ProxyFixture> GatewayAsync(TestOrigin origin, string redis, Action<CacheProxy.Configuration.RedisOptions>? redisOptions = null,
        bool fakeClock = false, Action<CacheProxy.Configuration.CacheProxyOptions>? configure = null) =>
        ProxyFixture.StartAsync(configure, sharedOrigin: origin, systemClock: !fakeClock, mapManagement: true,
            features: b => b.AddRedis(o =>
            {
                o.Configuration = redis;
                o.KeyPrefix = "test:";
                // Generous for tests that are not about timeouts: a loaded CI machine must not drop their writes.
                o.OperationTimeout = TimeSpan.FromSeconds(2);
                redisOptions?.Invoke(o);
            }));

    /// <summary>A response is stored after its body reached the client; ResponseStored is the signal.</summary>
    internal static Task WaitForStoredAsync(ProxyFixture gateway, int count) => gateway.WaitForLogAsync("ResponseStored", count);

    internal static async Task<TestOrigin> OriginAsync(int bodySize = 0)
    {
        var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            var body = "body of " + c.Request.Path;
            return c.Response.WriteAsync(bodySize > 0 ? body + new string('.', bodySize) : body);
        };
        return origin;
    }

    /// <summary>Waits until the gateway's Redis connection is up (its health check turns Healthy).</summary>
    internal static async Task WaitForRedisAsync(ProxyFixture gateway)
    {
        var health = gateway.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await health.CheckHealthAsync(r => r.Name == "redis", timeout.Token)).Status != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
        {
            await Task.Delay(20, timeout.Token); // polling an external connection's state, bounded by the timeout
        }
    }

    /// <summary>What a gateway hears from other instances: an invalidation, or (no scope) a replaced entry.</summary>
    internal readonly record struct Heard(InvalidationScope? Scope, string Value, bool Soft);

    /// <summary>The invalidations and replaced-entry notices <paramref name="gateway"/> hears from other instances, from now on.</summary>
    internal static System.Collections.Concurrent.ConcurrentQueue<Heard> HeardBy(ProxyFixture gateway)
    {
        var heard = new System.Collections.Concurrent.ConcurrentQueue<Heard>();
        gateway.Services.GetRequiredService<IInvalidationBus>().Subscribe((message, _) =>
        {
            heard.Enqueue(new Heard(message.Scope, message.Value, message.Soft));
            return default;
        }, (notice, _) =>
        {
            heard.Enqueue(new Heard(null, notice.Key, false));
            return default;
        }, CancellationToken.None);
        return heard;
    }

    [Fact]
    public async Task MissOnOneInstance_IsAHitOnAnother_AndSurvivesARestartOfBoth()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        var a = await GatewayAsync(origin, redis.Endpoint);
        var b = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);

        var miss = await a.GetAsync("/shared");
        await WaitForStoredAsync(a, 1);
        var hit = await b.GetAsync("/shared");
        var logsOfA = a.Logs.GetSnapshot();
        await a.DisposeAsync();
        await b.DisposeAsync();
        await using var restarted = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(restarted);
        var afterRestart = await restarted.GetAsync("/shared");

        Assert.Contains("fwd=miss", miss.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal("body of /shared", await hit.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", afterRestart.CacheStatus());
        Assert.Equal(1, origin.Calls);
        Assert.DoesNotContain(logsOfA, r => r.Id.Name == "RedisValueUnreadable"); // a plain miss is not garbage
    }

    [Fact]
    public async Task InvalidationOnOneInstance_ReachesTheMemoryTierOfAnother()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await GatewayAsync(origin, redis.Endpoint);
        await using var b = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        var heard = HeardBy(b);
        await a.GetAsync("/item");
        await WaitForStoredAsync(a, 1);
        await Signal.WaitUntilAsync(() => heard.Count >= 1); // a's write: b drops a copy it does not hold yet
        await b.GetAsync("/item"); // now in b's memory tier too

        await a.Client.PostAsync("/item", new StringContent("change"));
        await Signal.WaitUntilAsync(() => heard.Count >= 2);
        var afterInvalidation = await b.GetAsync("/item");

        Assert.Contains("fwd=miss", afterInvalidation.CacheStatus());
        Assert.Equal(3, origin.Calls); // GET, POST, GET again
    }

    [Fact]
    public async Task LargeBodies_AreStoredInChunks_AndReadBackWhole()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync(bodySize: 10_000);
        await using var a = await GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024);
        await using var b = await GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);

        var first = await (await a.GetAsync("/big")).Content.ReadAsStringAsync();
        await WaitForStoredAsync(a, 1);
        var hit = await b.GetAsync("/big");

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal(first, await hit.Content.ReadAsStringAsync());
        var keys = await redis.CliAsync("--scan", "--pattern", "test:e:*");
        Assert.Equal(11, keys.Split('\n').Length); // the entry and ten 1 KiB chunks
        Assert.All(keys.Split('\n'), k => Assert.Matches(@"^test:e:\{[0-9a-f]{32}\}(:c:\d+)?$", k));
    }

    [Fact]
    public async Task CorruptValueUnderAKey_IsAMiss_NeverAWrongResponse()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using (var a = await GatewayAsync(origin, redis.Endpoint))
        {
            await WaitForRedisAsync(a);
            await a.GetAsync("/corrupt");
            await WaitForStoredAsync(a, 1);
        }
        var key = Assert.Single((await redis.CliAsync("--scan", "--pattern", "test:e:*")).Split('\n'));
        await redis.CliAsync("SET", key, "garbage that is not an entry", "EX", "600");
        await using var b = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(b);

        var response = await b.GetAsync("/corrupt");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("body of /corrupt", await response.Content.ReadAsStringAsync());
        Assert.Contains("fwd=miss", response.CacheStatus());
        Assert.Equal(2, origin.Calls);
        Assert.Contains(b.Logs.GetSnapshot(), r => r.Id.Name == "RedisValueUnreadable");
    }

    [Fact]
    public async Task EntriesInRedis_ExpireByThemselves()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);

        await a.GetAsync("/ttl");
        await WaitForStoredAsync(a, 1);

        var key = Assert.Single((await redis.CliAsync("--scan", "--pattern", "test:e:*")).Split('\n'));
        var ttl = long.Parse(await redis.CliAsync("PTTL", key), System.Globalization.CultureInfo.InvariantCulture);
        // max-age=600 and no validator: kept for its freshness plus StaleRetention for unreachable-upstream serving.
        Assert.InRange(ttl, 1, (long)TimeSpan.FromSeconds(600 + 3600).TotalMilliseconds);
    }

    [Fact]
    public async Task ConcurrentMissesOnTwoInstances_CauseOneUpstreamRequest()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var upstreamEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        origin.Handler = async c =>
        {
            upstreamEntered.TrySetResult();
            await release.Task;
            c.Response.Headers.CacheControl = "max-age=600";
            await c.Response.WriteAsync("fetched once");
        };
        await using var a = await GatewayAsync(origin, redis.Endpoint);
        await using var b = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);

        var fromA = a.GetAsync("/once");
        await upstreamEntered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // A holds the claim and is upstream
        var fromB = b.GetAsync("/once");
        await b.WaitForCollapseWaitersAsync(1);
        release.SetResult();
        var responses = await Task.WhenAll(fromA, fromB);

        Assert.Equal(1, origin.Calls);
        Assert.Equal("fetched once", await responses[1].Content.ReadAsStringAsync());
        Assert.Contains("detail=collapsed", responses[1].CacheStatus());
    }

    [Fact]
    public async Task StaleStampedeOnTwoInstances_CostsOneRevalidation()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        origin.Handler = async c =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                await release.Task;
            }
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            await c.Response.WriteAsync("v1");
        };
        // Clocks of their own (Redis keeps an entry for its validator's retention, an hour): the entry turns stale
        // for both instances when both clocks move.
        await using var a = await GatewayAsync(origin, redis.Endpoint, fakeClock: true);
        await using var b = await GatewayAsync(origin, redis.Endpoint, fakeClock: true);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        await a.GetAsync("/hot");
        await WaitForStoredAsync(a, 1);
        Assert.StartsWith("CacheProxy; hit", (await b.GetAsync("/hot")).CacheStatus()); // b's memory tier holds it too
        a.Time.Advance(TimeSpan.FromSeconds(20));
        b.Time.Advance(TimeSpan.FromSeconds(20));

        var requests = Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? a : b).GetAsync("/hot")).ToArray();
        await Signal.WaitUntilAsync(() => a.CollapseWaiters + b.CollapseWaiters >= 9); // one instance's leader is upstream
        release.SetResult();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(2, origin.Calls); // the first fill and one revalidation, for both instances
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("v1", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task ChunkedBody_IsStreamedFromRedis_RangesIncluded_AndALostChunkIsAMiss()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync(bodySize: 5000);
        await using var a = await GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024);
        await WaitForRedisAsync(a);
        var whole = await (await a.GetAsync("/stream")).Content.ReadAsStringAsync();
        await WaitForStoredAsync(a, 1);

        // A fresh instance: nothing in memory, the body comes from Redis chunk by chunk.
        await using (var b = await GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024))
        {
            await WaitForRedisAsync(b);
            var range = await b.GetAsync("/stream", ("Range", "bytes=1000-3100"));
            var full = await b.GetAsync("/stream");

            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal(whole.Substring(1000, 2101), await range.Content.ReadAsStringAsync());
            Assert.StartsWith("CacheProxy; hit", full.CacheStatus());
            Assert.Equal(whole, await full.Content.ReadAsStringAsync());
        }

        var entryKey = Assert.Single((await redis.CliAsync("--scan", "--pattern", "test:e:*")).Split('\n'), k => !k.Contains(":c:", StringComparison.Ordinal));
        await redis.CliAsync("DEL", entryKey + ":c:2");
        await using var c = await GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024);
        await WaitForRedisAsync(c);
        var afterLoss = await c.GetAsync("/stream");

        Assert.Contains("fwd=miss", afterLoss.CacheStatus());
        Assert.Equal(whole, await afterLoss.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Calls);
    }

    [Fact]
    public async Task AStoredPart_IsSharedThroughRedis_AndAnotherInstanceJoinsTheRest()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        const string body = "0123456789";
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ETag = "\"p1\"";
            if (CacheProxy.Http.ByteRange.Resolve(c.Request.Headers.Range, body.Length, out var start, out var count) == CacheProxy.Http.ByteRange.Outcome.Partial
                && (c.Request.Headers.IfRange.Count == 0 || c.Request.Headers.IfRange == "\"p1\""))
            {
                c.Response.StatusCode = 206;
                c.Response.Headers.ContentRange = $"bytes {start}-{start + count - 1}/{body.Length}";
                c.Response.ContentLength = count;
                return c.Response.WriteAsync(body.Substring((int)start, (int)count));
            }
            return c.Response.WriteAsync(body);
        };
        await using var a = await GatewayAsync(origin, redis.Endpoint);
        await using var b = await GatewayAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);

        await a.GetAsync("/part", ("Range", "bytes=0-3"));
        await WaitForStoredAsync(a, 1);
        var fromRedis = await b.GetAsync("/part", ("Range", "bytes=1-2"));
        var whole = await b.GetAsync("/part"); // b completes the part it read from Redis: the origin sends only 4-9

        Assert.Equal(HttpStatusCode.PartialContent, fromRedis.StatusCode);
        Assert.Equal("12", await fromRedis.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", fromRedis.CacheStatus());
        Assert.Equal(body, await whole.Content.ReadAsStringAsync());
        Assert.Equal("bytes=4-9", origin.Seen.Last().Headers["Range"]);
        Assert.Equal(2, origin.Calls);
    }
}
