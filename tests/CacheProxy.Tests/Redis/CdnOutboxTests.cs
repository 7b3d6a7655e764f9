using System.Net;
using System.Text.Json;
using CacheProxy.Configuration;
using CacheProxy.Tests.Cdn;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using static CacheProxy.Tests.Redis.RedisTierTests;

namespace CacheProxy.Tests.Redis;

/// <summary>
/// The CDN outbox in a real Redis, shared by instances: one delivery per purge across them, another instance
/// delivers what a killed one accepted, and nothing reaches the CDN before every live instance applied the purge.
/// </summary>
public sealed class CdnOutboxTests
{
    private static Task<ProxyFixture> InstanceAsync(TestOrigin origin, RedisServer redis, WireMockServer? cdn, Action<CacheProxyOptions>? configure = null) =>
        GatewayAsync(origin, redis.Endpoint, configure: o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            o.Cdn.Providers["relay"] = new CdnProviderOptions { Type = CdnProviderType.Webhook, Url = cdn?.Url + "/hook" };
            o.Cdn.PollInterval = TimeSpan.FromMilliseconds(20);
            o.Cdn.RetryDelay = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(o);
        });

    private static string[] Ids(WireMockServer cdn) =>
        [.. cdn.LogEntries.Where(e => (int)e.ResponseMessage.StatusCode! == 200).Select(e => e.RequestMessage.Headers!["CacheProxy-Purge-Id"].Single())];

    [Fact]
    public async Task TwoInstances_DeliverEachPurgeOnce_AndEitherShowsItsState()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        using var cdn = WireMockServer.Start();
        cdn.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        await using var a = await InstanceAsync(origin, redis, cdn);
        await using var b = await InstanceAsync(origin, redis, cdn);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var answer = await CdnForwardingTests.PurgeAsync(i % 2 == 0 ? a : b, new { tags = new[] { $"t{i}" } });
            ids.Add(answer.GetProperty("forwarding").GetProperty("id").GetString()!);
        }
        await Signal.WaitUntilAsync(() => Ids(cdn).Length >= 20);
        foreach (var id in ids)
        {
            await Signal.WaitUntilAsync(async () => CdnForwardingTests.StateOf(await CdnForwardingTests.ForwardingAsync(a, $"/purge/forwarding/{id}")) == "delivered");
        }
        var state = await CdnForwardingTests.ForwardingAsync(b);

        Assert.Equal(ids.Order(), Ids(cdn).Order());
        Assert.Equal(20, cdn.LogEntries.Count()); // each once: no second delivery by the other instance
        Assert.Equal("shared", state.GetProperty("outbox").GetString());
        Assert.Empty(state.GetProperty("pending").EnumerateArray());
        Assert.Equal("delivered", CdnForwardingTests.StateOf(await CdnForwardingTests.ForwardingAsync(b, $"/purge/forwarding/{ids[0]}")));
    }

    [Fact]
    public async Task AnInstanceKilledWhileDelivering_HandsTheDeliveryOn_WhenItsLeaseEnds()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        // The CDN: its first request hangs (until the caller goes away), the next are answered.
        await using var cdn = await TestOrigin.StartAsync();
        var hung = new TaskCompletionSource();
        var received = new List<string>();
        cdn.Handler = async c =>
        {
            lock (received)
            {
                received.Add(c.Request.Headers["CacheProxy-Purge-Id"].ToString());
            }
            if (hung.TrySetResult())
            {
                await Task.Delay(Timeout.Infinite, c.RequestAborted);
            }
        };
        (string, string)[] settings =
        [
            ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), ("CacheProxy__Redis__Configuration", redis.Endpoint),
            ("CacheProxy__Redis__KeyPrefix", "test:"), // as the in-process instances
            ("CacheProxy__Cdn__Providers__relay__Type", "Webhook"), ("CacheProxy__Cdn__Providers__relay__Url", cdn.Address + "hook"),
            ("CacheProxy__Cdn__RequestTimeout", "00:00:01"), ("CacheProxy__Cdn__PollInterval", "00:00:00.050"),
        ];
        var accepting = GatewayProcess.Start("Production", origin.Address, settings);
        await accepting.WaitStartedAsync();
        await accepting.WaitHealthyAsync();
        using var http = new HttpClient();
        using var purge = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{accepting.ManagementPort}/purge")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { tags = new[] { "product-42" } }),
        };
        purge.Headers.Authorization = new("Bearer", PurgeTests.Key);
        var answer = JsonDocument.Parse(await (await http.SendAsync(purge)).EnsureSuccessStatusCode().Content.ReadAsStringAsync()).RootElement;
        var id = answer.GetProperty("forwarding").GetProperty("id").GetString()!;
        await hung.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the first attempt hangs
        await accepting.KillAsync();
        await using var second = await InstanceAsync(origin, redis, null, o => o.Cdn.Providers["relay"].Url = cdn.Address + "hook");
        await WaitForRedisAsync(second);

        await Signal.WaitUntilAsync(async () => CdnForwardingTests.StateOf(await CdnForwardingTests.ForwardingAsync(second, $"/purge/forwarding/{id}")) == "delivered");

        var delivered = Assert.Single(second.Logs.GetSnapshot(), r => r.Id.Name == "CdnDelivered");
        Assert.Contains(id, delivered.Message, StringComparison.Ordinal);
        Assert.Contains("attempt 2", delivered.Message, StringComparison.Ordinal); // the killed instance's claim counted
        Assert.Equal([id, id], received);
    }

    [Fact]
    public async Task TheCdnHearsOfAPurge_OnlyOnceEveryLiveInstanceAppliedIt()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        using var cdn = WireMockServer.Start();
        await using var a = await InstanceAsync(origin, redis, cdn);
        await using var b = await InstanceAsync(origin, redis, cdn);
        await WaitForRedisAsync(a);
        await WaitForRedisAsync(b);
        // What b serves at the moment the CDN receives the purge: b must not serve the old response any more.
        var seenByB = new List<string>();
        cdn.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithCallback(_ =>
        {
            seenByB.Add(b.GetAsync("/item").GetAwaiter().GetResult().CacheStatus());
            return new WireMock.ResponseMessage { StatusCode = 200 };
        }));
        await b.GetAsync("/item");
        await WaitForStoredAsync(b, 1);
        Assert.StartsWith("CacheProxy; hit", (await b.GetAsync("/item")).CacheStatus());
        // An instance that is alive but has applied nothing since: its heartbeat holds the log's start.
        using var ghost = new CancellationTokenSource();
        var beat = Task.Run(async () =>
        {
            while (!ghost.IsCancellationRequested)
            {
                await redis.CliAsync("HSET", "test:{ledger}:applied", "ghost", $"0-0|{TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds()}");
                await Task.Delay(100, CancellationToken.None); // a heartbeat's period, not a wait for the system under test
            }
        });

        await Signal.WaitUntilAsync(async () => (await redis.CliAsync("HEXISTS", "test:{ledger}:applied", "ghost")).Trim() == "1");
        var answer = await CdnForwardingTests.PurgeAsync(a, new { urls = new[] { $"{b.Client.BaseAddress}item" } });
        var id = answer.GetProperty("forwarding").GetProperty("id").GetString()!;
        // The delivery is due, and held back: the outbox says so.
        await Signal.WaitUntilAsync(async () => (await CdnForwardingTests.ForwardingAsync(a, $"/purge/forwarding/{id}")).GetProperty("providers")[0]
            .GetProperty("detail").GetString() == "waiting for 1 instance(s) to apply the purge first");
        var heldBack = cdn.LogEntries.Count();
        await ghost.CancelAsync();
        await beat;
        await redis.CliAsync("HDEL", "test:{ledger}:applied", "ghost"); // the lagging instance stopped
        await Signal.WaitUntilAsync(async () => CdnForwardingTests.StateOf(await CdnForwardingTests.ForwardingAsync(a, $"/purge/forwarding/{id}")) == "delivered"); // by a or b

        Assert.Equal(0, heldBack);
        Assert.Single(cdn.LogEntries);
        Assert.Contains("fwd=miss", Assert.Single(seenByB), StringComparison.Ordinal); // b had applied the purge before the CDN heard of it
    }
}
