using System.Diagnostics;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static CacheProxy.Tests.Redis.RedisTierTests;

namespace CacheProxy.Tests.Redis;

/// <summary>The same shared-cache behaviour on a Redis Cluster of three masters that the test builds itself.</summary>
public sealed class RedisClusterTests
{
    private static async Task<RedisServer[]> StartClusterAsync()
    {
        var nodes = new RedisServer[3];
        for (var i = 0; i < nodes.Length; i++)
        {
            // The bus port named too: by default it is the port + 10000, which no one checked was free (a flake).
            nodes[i] = await RedisServer.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                "--cluster-port", GatewayProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--cluster", "create" }.Concat(nodes.Select(n => n.Endpoint)).Concat(["--cluster-replicas", "0", "--cluster-yes"]))
        {
            info.ArgumentList.Add(arg);
        }
        using var create = Process.Start(info)!;
        var output = await create.StandardOutput.ReadToEndAsync();
        await create.WaitForExitAsync();
        Assert.True(create.ExitCode == 0, output);
        Assert.Contains("All 16384 slots covered", output, StringComparison.Ordinal);
        // create returns when the nodes have met; every node must also agree the cluster is up (config epochs
        // propagated) before clients write, or writes meet CLUSTERDOWN and are dropped. Bounded polling of the nodes.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var node in nodes)
        {
            while (!(await node.CliAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                await Task.Delay(50, timeout.Token);
            }
        }
        return nodes;
    }

    [Fact]
    public async Task ThreeMasters_SharedHits_ChunkedBodies_AndInvalidation()
    {
        var nodes = await StartClusterAsync();
        try
        {
            await using var origin = await OriginAsync(bodySize: 5000);
            var endpoints = string.Join(",", nodes.Select(n => n.Endpoint));
            await using var a = await GatewayAsync(origin, endpoints, o => o.ChunkSize = 1024);
            await using var b = await GatewayAsync(origin, endpoints, o => o.ChunkSize = 1024);
            await WaitForRedisAsync(a);
            await WaitForRedisAsync(b);

            var heard = RedisTierTests.HeardBy(b);
            int HeardOfC3() => heard.Count(m => m.Value.EndsWith("/c/3\u001F", StringComparison.Ordinal));

            // Many keys, so entries (and their chunks) land on every master.
            for (var i = 0; i < 12; i++)
            {
                await a.GetAsync($"/c/{i}");
            }
            await WaitForStoredAsync(a, 12);
            for (var i = 0; i < 12; i++)
            {
                var hit = await b.GetAsync($"/c/{i}");
                Assert.True(hit.CacheStatus().StartsWith("CacheProxy; hit", StringComparison.Ordinal),
                    $"/c/{i}: {hit.CacheStatus()}; Redis failures on a: " + string.Join(" | ",
                        a.Logs.GetSnapshot().Where(r => r.Id.Name == "RedisOperationFailed").Select(r => r.Message)));
                Assert.StartsWith($"body of /c/{i}", await hit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            Assert.Equal(12, origin.Calls);
            var perNode = await Task.WhenAll(nodes.Select(n => n.CliAsync("DBSIZE")));
            Assert.All(perNode, size => Assert.NotEqual("0", size));

            await Signal.WaitUntilAsync(() => HeardOfC3() >= 1); // a's write of /c/3
            await a.Client.DeleteAsync("/c/3");
            await Signal.WaitUntilAsync(() => HeardOfC3() >= 2); // and its invalidation
            Assert.Contains("fwd=miss", (await b.GetAsync("/c/3")).CacheStatus());
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task TheCdnOutbox_WorksOnACluster_EachPurgeDeliveredOnce()
    {
        var nodes = await StartClusterAsync();
        try
        {
            await using var origin = await OriginAsync();
            using var cdn = WireMock.Server.WireMockServer.Start();
            cdn.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200));
            var endpoints = string.Join(",", nodes.Select(n => n.Endpoint));
            void WithCdn(CacheProxy.Configuration.CacheProxyOptions o)
            {
                o.Management.ApiKeys["ops"] = Invalidation.PurgeTests.Key;
                o.Cdn.Providers["relay"] = new() { Type = CacheProxy.Configuration.CdnProviderType.Webhook, Url = cdn.Url + "/hook" };
                o.Cdn.PollInterval = TimeSpan.FromMilliseconds(20);
            }
            await using var a = await GatewayAsync(origin, endpoints, configure: WithCdn);
            await using var b = await GatewayAsync(origin, endpoints, configure: WithCdn);
            await WaitForRedisAsync(a);
            await WaitForRedisAsync(b);

            var ids = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                var answer = await Cdn.CdnForwardingTests.PurgeAsync(i % 2 == 0 ? a : b, new { tags = new[] { $"t{i}" } });
                ids.Add(answer.GetProperty("forwarding").GetProperty("id").GetString()!);
            }
            foreach (var id in ids)
            {
                await Signal.WaitUntilAsync(async () =>
                    Cdn.CdnForwardingTests.StateOf(await Cdn.CdnForwardingTests.ForwardingAsync(b, $"/purge/forwarding/{id}")) == "delivered");
            }

            Assert.Equal(6, cdn.LogEntries.Count());
            Assert.DoesNotContain(a.Logs.GetSnapshot().Concat(b.Logs.GetSnapshot()), r => r.Id.Name == "RedisOperationFailed");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }
}
