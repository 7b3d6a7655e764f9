using System.Net;
using CacheProxy.Storage;
using CacheProxy.Invalidation;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using static CacheProxy.Tests.Redis.RedisTierTests;

namespace CacheProxy.Tests.Redis;

/// <summary>Purges across gateway instances sharing one real redis-server, through disconnects and restarts.</summary>
public sealed class PurgeAcrossInstancesTests
{
    private static Task<ProxyFixture> InstanceAsync(TestOrigin origin, string redis, bool fakeClock = false,
        Action<CacheProxy.Configuration.RedisOptions>? redisOptions = null) =>
        GatewayAsync(origin, redis, redisOptions, fakeClock: fakeClock, configure: o => o.Management.ApiKeys["ops"] = PurgeTests.Key);

    /// <summary>An origin that counts versions: every answer is tagged by the query's <c>sk</c>, validated by ETag.</summary>
    private static async Task<TestOrigin> OriginAsync()
    {
        var origin = await TestOrigin.StartAsync();
        var version = 0;
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ETag = "\"e\"";
            c.Response.Headers["Surrogate-Key"] = c.Request.Query["sk"].ToString();
            if (c.Request.Headers.IfNoneMatch == "\"e\"")
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("version " + Interlocked.Increment(ref version));
        };
        return origin;
    }

    private static Task<HttpResponseMessage> PurgeAsync(ProxyFixture instance, object body) =>
        PurgeTests.PurgeAsync(instance.Client, "/purge", body);

    private static async Task<(string Status, string Body)> GetAsync(ProxyFixture instance, string path)
    {
        var response = await instance.GetAsync(path);
        return (response.CacheStatus(), await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits for Redis on <paramref name="instance"/>, stores <c>/x?sk=t1</c> through it, and returns its body.</summary>
    private static async Task<string> FillTaggedAsync(ProxyFixture instance)
    {
        await WaitForRedisAsync(instance);
        var body = (await GetAsync(instance, "/x?sk=t1")).Body;
        await WaitForStoredAsync(instance, 1);
        return body;
    }

    /// <summary>An instance started now, and what it answers for <c>/x?sk=t1</c>.</summary>
    private static async Task<(ProxyFixture Instance, (string Status, string Body) Answer)> LaterInstanceAsync(TestOrigin origin, string redis)
    {
        var instance = await InstanceAsync(origin, redis);
        await WaitForRedisAsync(instance);
        return (instance, await GetAsync(instance, "/x?sk=t1"));
    }

    /// <summary>Requests each path once on <paramref name="instance"/> and waits until all are stored.</summary>
    private static async Task FillAsync(ProxyFixture instance, string[] paths)
    {
        foreach (var path in paths)
        {
            await GetAsync(instance, path);
        }
        await WaitForStoredAsync(instance, paths.Length);
    }

    [Fact]
    public async Task ATagPurgeOnOne_HoldsOnBoth_AndOtherTagsStayHits()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        await using var b = await InstanceAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        var heard = HeardBy(b);
        var x = await GetAsync(a, "/x?sk=t1");
        await GetAsync(a, "/y?sk=t2");
        await WaitForStoredAsync(a, 2);
        Assert.Equal(x.Body, (await GetAsync(b, "/x?sk=t1")).Body); // b's memory tier holds it too

        (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();
        await Signal.WaitUntilAsync(() => heard.Any(m => m.Scope == InvalidationScope.Tag));
        var onB = await GetAsync(b, "/x?sk=t1");
        var onA = await GetAsync(a, "/x?sk=t1");

        Assert.Contains("fwd=miss", onB.Status);
        Assert.NotEqual(x.Body, onB.Body);
        Assert.NotEqual(x.Body, onA.Body); // a's own copy went too, and Redis's old entry is not served
        Assert.StartsWith("CacheProxy; hit", (await GetAsync(a, "/y?sk=t2")).Status);
        Assert.StartsWith("CacheProxy; hit", (await GetAsync(b, "/y?sk=t2")).Status);
    }

    [Fact]
    public async Task ASoftPurge_CostsOneRevalidation_ForAStampedeOnTwoInstances()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = origin.Handler;
        origin.Handler = async c =>
        {
            if (c.Request.Headers.ContainsKey("If-None-Match"))
            {
                await release.Task; // the revalidation is slow
            }
            await answer(c);
        };
        await using var a = await InstanceAsync(origin, redis.Endpoint, fakeClock: true);
        await using var b = await InstanceAsync(origin, redis.Endpoint, fakeClock: true);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        var heard = HeardBy(b);
        await GetAsync(a, "/s?sk=news");
        await WaitForStoredAsync(a, 1);
        await GetAsync(b, "/s?sk=news");
        a.Time.Advance(TimeSpan.FromSeconds(2));
        b.Time.Advance(TimeSpan.FromSeconds(2));

        (await PurgeAsync(a, new { tags = new[] { "news" }, soft = true })).EnsureSuccessStatusCode();
        await Signal.WaitUntilAsync(() => heard.Any(m => m.Scope == InvalidationScope.Tag && m.Soft));
        var stampede = Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? a : b).GetAsync("/s?sk=news")).ToArray();
        await Signal.WaitUntilAsync(() => a.CollapseWaiters + b.CollapseWaiters >= 9);
        release.SetResult();
        var responses = await Task.WhenAll(stampede);

        Assert.Single(origin.Seen, r => r.Headers.ContainsKey("If-None-Match")); // one revalidation, not ten
        Assert.Equal(2, origin.Calls);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task APurgeWhileAnInstanceIsCutOff_ReachesItWhenItReconnects_AndMeanwhileItServesItsMemoryTier()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = new TcpRelay(redis.Port);
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        await using var b = await InstanceAsync(origin, relay.Endpoint);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        var heard = HeardBy(b);
        var stored = await GetAsync(a, "/x?sk=t1");
        await WaitForStoredAsync(a, 1);
        await Signal.WaitUntilAsync(() => !heard.IsEmpty); // a's write: b drops a copy it does not hold yet
        await GetAsync(b, "/x?sk=t1");

        relay.Cut();
        await b.WaitForLogAsync("RedisConnectionFailed");
        (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();
        var whileCutOff = await GetAsync(b, "/x?sk=t1");
        var calls = origin.Calls;
        relay.Restore();
        await b.WaitForLogAsync("RedisInvalidationsReplayed");
        var afterReconnect = await GetAsync(b, "/x?sk=t1");

        Assert.StartsWith("CacheProxy; hit", whileCutOff.Status); // within CacheProxy:Redis:MaxDisconnectedServing
        Assert.Equal(stored.Body, whileCutOff.Body);
        Assert.Contains("fwd=miss", afterReconnect.Status);
        Assert.Equal(calls + 1, origin.Calls);
    }

    [Fact]
    public async Task WhileRedisIsDown_HotKeysInTheMemoryTier_AreStillHits()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        var paths = Enumerable.Range(0, 10).Select(i => $"/hot/{i}").ToArray();
        await FillAsync(a, paths);

        await redis.KillAsync();
        await a.WaitForLogAsync("RedisConnectionFailed");
        var statuses = new List<string>();
        foreach (var path in paths)
        {
            statuses.Add((await GetAsync(a, path)).Status);
        }

        Assert.All(statuses, s => Assert.StartsWith("CacheProxy; hit", s));
        Assert.Equal(paths.Length, origin.Calls); // the origin saw nothing of them
    }

    [Fact]
    public async Task ARedisRestartThatLostTheLog_CostsAtMostOneConditionalRevalidationPerHotKey()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        var paths = Enumerable.Range(0, 5).Select(i => $"/hot/{i}").ToArray();
        await FillAsync(a, paths);

        await redis.KillAsync();
        await redis.RestartEmptyAsync();
        await a.WaitForLogAsync("RedisInvalidationGap");
        var responses = await Task.WhenAll(paths.SelectMany(p => Enumerable.Range(0, 4).Select(_ => a.GetAsync(p))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var afterRestart = origin.Seen.Skip(paths.Length).ToList();
        Assert.All(afterRestart, r => Assert.Equal("\"e\"", r.Headers["If-None-Match"])); // conditional, never a refetch
        Assert.All(paths, p => Assert.True(afterRestart.Count(r => r.PathAndQuery == p) <= 1, p));
    }

    [Fact]
    public async Task APurgeWithRedisDown_Is503_AndHoldsHere()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(a);
        await GetAsync(a, "/x?sk=t1");
        await WaitForStoredAsync(a, 1);
        await redis.KillAsync();
        await a.WaitForLogAsync("RedisConnectionFailed");

        var purge = await PurgeAsync(a, new { tags = new[] { "t1" } });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, purge.StatusCode);
        Assert.Contains("purge-not-published", await purge.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("fwd=miss", (await GetAsync(a, "/x?sk=t1")).Status);
        Assert.Contains(a.Logs.GetSnapshot(), r => r.Id.Name == "PurgeNotPublished");
    }

    [Fact]
    public async Task APurge_SurvivesARestartOfEveryInstance()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        string before;
        await using (var a = await InstanceAsync(origin, redis.Endpoint))
        {
            await WaitForRedisAsync(a);
            before = (await GetAsync(a, "/x?sk=t1")).Body;
            await WaitForStoredAsync(a, 1);
            (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();
        }

        await using var restarted = await InstanceAsync(origin, redis.Endpoint);
        await WaitForRedisAsync(restarted);
        var after = await GetAsync(restarted, "/x?sk=t1");

        Assert.Contains("fwd=miss", after.Status);
        Assert.NotEqual(before, after.Body);
    }

    [Fact]
    public async Task APurgeRedisLostInARestartFromAnOlderSnapshot_IsPutBack_ForAnInstanceThatStartsLater()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint);
        var before = await FillTaggedAsync(a);
        await redis.SnapshotAsync(); // holds the entry, not the purge
        (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();

        await redis.KillAsync();
        await redis.RestartFromSnapshotAsync();
        await a.WaitForLogAsync("RedisInvalidationLogLost");
        var (b, onB) = await LaterInstanceAsync(origin, redis.Endpoint);
        await using var _ = b;

        Assert.Contains("fwd=miss", onB.Status); // not the entry the snapshot brought back
        Assert.NotEqual(before, onB.Body);
        Assert.NotEqual(before, (await GetAsync(a, "/x?sk=t1")).Body);
        var lost = Assert.Single(a.Logs.GetSnapshot(), r => r.Id.Name == "RedisInvalidationLogLost");
        Assert.Contains("put back 1 held here, all of them: True", lost.Message, StringComparison.Ordinal);
        Assert.Contains("\nt1", await redis.CliAsync("XRANGE", "test:{ledger}:log", "-", "+"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APurgeLostInAFailoverToAReplicaThatLackedIt_IsPutBack()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await RedisServer.StartAsync("--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using var address = new TcpRelay(primary.Port); // what the gateways are configured with
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, address.Endpoint);
        var before = await FillTaggedAsync(a);
        Assert.Equal("1", await primary.CliAsync("WAIT", "1", "10000")); // the replica has the entry and the log so far
        Assert.Equal("OK", await replica.CliAsync("REPLICAOF", "NO", "ONE")); // and nothing after: replication lag, frozen
        (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();

        address.Redirect(replica.Port);
        await a.WaitForLogAsync("RedisInvalidationLogLost");
        var (b, onB) = await LaterInstanceAsync(origin, address.Endpoint);
        await using var _ = b;

        Assert.Contains("fwd=miss", onB.Status);
        Assert.NotEqual(before, onB.Body);
    }

    [Fact]
    public async Task WhenNoInstanceHoldsAllThatRedisLost_TheLogCountsAsAGap_AndLaterInstancesRevalidate()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        await using var a = await InstanceAsync(origin, redis.Endpoint, redisOptions: o => o.InvalidationLogMaxLength = 1000);
        var heard = HeardBy(a);
        await FillTaggedAsync(a);
        await redis.SnapshotAsync();
        // More purges than a keeps (its journal holds as many as the log may): it cannot put back all that is lost.
        await redis.CliAsync("EVAL", """
            for i = 1, 1001 do
              local wire = 'other\nT0\n638000000000000000\n'
              local id = redis.call('xadd', KEYS[1], '*', 'm', wire .. '\nflood' .. i)
              redis.call('publish', KEYS[2], wire .. id .. '\nflood' .. i)
            end
            return 1
            """, "2", "test:{ledger}:log", "test:invalidate");
        await Signal.WaitUntilAsync(() => heard.Count(h => h.Value.StartsWith("flood", StringComparison.Ordinal)) >= 1001);
        (await PurgeAsync(a, new { tags = new[] { "t1" } })).EnsureSuccessStatusCode();

        await redis.KillAsync();
        await redis.RestartFromSnapshotAsync();
        await a.WaitForLogAsync("RedisInvalidationGap");
        var calls = origin.Calls;
        var (b, onB) = await LaterInstanceAsync(origin, redis.Endpoint);
        await using var _ = b;

        Assert.Contains("all of them: False", Assert.Single(a.Logs.GetSnapshot(), r => r.Id.Name == "RedisInvalidationLogLost").Message,
            StringComparison.Ordinal);
        Assert.Equal(calls + 1, origin.Calls); // not served as Redis brought it back: revalidated first
        Assert.Equal("\"e\"", origin.Seen.Last().Headers["If-None-Match"]);
        Assert.Contains("fwd=stale", onB.Status);
    }
}
