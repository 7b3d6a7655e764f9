using System.Net;
using System.Text;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Gateway;

/// <summary>Purge and the management plane on the sample gateway as it ships: real processes, real Kestrel, real Redis.</summary>
public sealed class PurgeGatewayTests
{
    private static async Task<TestOrigin> OriginAsync()
    {
        var origin = await TestOrigin.StartAsync();
        var version = 0;
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers["Surrogate-Key"] = c.Request.Query["sk"].ToString();
            return c.Response.WriteAsync("version " + Interlocked.Increment(ref version));
        };
        return origin;
    }

    private static async Task<GatewayProcess> StartAsync(TestOrigin origin, string? redis, params (string, string)[] extra)
    {
        var settings = new List<(string, string)> { ("CacheProxy__Management__ApiKeys__0", PurgeTests.Key) }; // an environment variable of a list, as operators write it
        if (redis is not null)
        {
            settings.Add(("CacheProxy__Redis__Configuration", redis));
        }
        settings.AddRange(extra);
        var gateway = GatewayProcess.Start("Production", origin.Address, [.. settings]);
        await gateway.WaitStartedAsync();
        if (redis is not null)
        {
            await gateway.WaitHealthyAsync(); // Redis connected and the invalidation log read
        }
        return gateway;
    }

    /// <summary>Requests go to each instance with the same Host, as a load balancer sends them: the host is part of the key.</summary>
    private static async Task<(string Status, string Body)> GetAsync(HttpClient http, GatewayProcess gateway, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.PublicPort}{path}");
        request.Headers.Host = "www.example.test";
        var response = await http.SendAsync(request);
        return (response.Headers.TryGetValues("Cache-Status", out var v) ? string.Join(", ", v) : string.Empty, await response.Content.ReadAsStringAsync());
    }

    private static async Task WaitUntilServedFromRedisAsync(HttpClient http, GatewayProcess gateway, string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await GetAsync(http, gateway, path)).Status.Contains("; hit", StringComparison.Ordinal))
        {
            await Task.Delay(50, timeout.Token); // polling another process until its Redis tier answers, bounded
        }
    }

    private static Task<HttpResponseMessage> PurgeAsync(HttpClient http, GatewayProcess gateway, object body, string? key = PurgeTests.Key) =>
        PurgeTests.PurgeAsync(http, $"http://127.0.0.1:{gateway.ManagementPort}/purge", body, key);

    [Fact]
    public async Task TwoGateways_ATagPurgeOnOne_IsAMissOnBoth_AndOtherTagsStayHits_AndItSurvivesARestart()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await OriginAsync();
        using var http = new HttpClient();
        var a = await StartAsync(origin, redis.Endpoint);
        var b = await StartAsync(origin, redis.Endpoint);
        try
        {
            var x = await GetAsync(http, a, "/x?sk=article:1");
            await GetAsync(http, a, "/y?sk=article:2");
            await WaitUntilServedFromRedisAsync(http, b, "/x?sk=article:1");
            await WaitUntilServedFromRedisAsync(http, b, "/y?sk=article:2");

            var purge = await PurgeAsync(http, a, new { tags = new[] { "article:1" } });
            var onB = await GetAsync(http, b, "/x?sk=article:1"); // b first: a's refetch would be new content for b too
            var onA = await GetAsync(http, a, "/x?sk=article:1");

            Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
            Assert.Contains("fwd=miss", onB.Status);
            Assert.NotEqual(x.Body, onB.Body);
            Assert.NotEqual(x.Body, onA.Body);
            Assert.Contains("; hit", (await GetAsync(http, a, "/y?sk=article:2")).Status);
            Assert.Contains("; hit", (await GetAsync(http, b, "/y?sk=article:2")).Status);

            // While b is stopped, a purges /y; b starts again and reads the purge from the log.
            await b.StopGracefullyAsync();
            var y = await GetAsync(http, a, "/y?sk=article:2");
            (await PurgeAsync(http, a, new { tags = new[] { "article:2" } })).EnsureSuccessStatusCode();
            await a.StopGracefullyAsync();
            await using var restarted = await StartAsync(origin, redis.Endpoint);
            await restarted.WaitForLineAsync("invalidations from the log");
            var afterRestart = await GetAsync(http, restarted, "/y?sk=article:2");

            Assert.Contains("fwd=miss", afterRestart.Status);
            Assert.NotEqual(y.Body, afterRestart.Body);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheManagementPlane_RefusesEachWayItShould_AndPurgesNothingThen()
    {
        await using var origin = await OriginAsync();
        using var http = new HttpClient();
        // Small bounds, so that an oversized body is small enough to be sent whole before the gateway answers.
        await using var gateway = await StartAsync(origin, redis: null, ("CacheProxy__Purge__MaxSelectors", "10"), ("CacheProxy__Purge__MaxSelectorLength", "100"));
        await using var elsewhere = await StartAsync(origin, redis: null, ("CacheProxy__Management__AllowedNetworks__0", "10.0.0.0/8"));
        var stored = await GetAsync(http, gateway, "/x?sk=a");
        var body = new { tags = new[] { "a" } };

        var onThePublicPort = await PurgeTests.PurgeAsync(http, $"http://127.0.0.1:{gateway.PublicPort}/purge", body);
        var noKey = await PurgeAsync(http, gateway, body, key: null);
        var wrongKey = await PurgeAsync(http, gateway, body, key: PurgeTests.Key.ToUpperInvariant());
        var fromARefusedNetwork = await PurgeAsync(http, elsewhere, body);
        using var huge = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.ManagementPort}/purge")
        {
            Content = new StringContent("{\"tags\": [\"" + new string('a', 50_000) + "\"]}", Encoding.UTF8, "application/json"),
        };
        huge.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        var oversized = await http.SendAsync(huge);
        var healthOnThePublicPort = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/health");

        Assert.Equal(HttpStatusCode.NotFound, onThePublicPort.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, fromARefusedNetwork.StatusCode);
        Assert.Equal("application/problem+json", fromARefusedNetwork.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.BadRequest, oversized.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, healthOnThePublicPort.StatusCode);
        var after = await GetAsync(http, gateway, "/x?sk=a");
        Assert.Contains("; hit", after.Status);
        Assert.Equal(stored.Body, after.Body);
        var refusals = gateway.Output.Split('\n').Where(l => l.Contains("\"EventId\":1401", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, refusals.Count); // public port, no key, wrong key; and the public health check
        Assert.All(refusals, l => Assert.Contains("\"Category\":\"CacheProxy.Security\"", l, StringComparison.Ordinal));
        Assert.DoesNotContain(PurgeTests.Key, gateway.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"EventId\":1401", elsewhere.Output, StringComparison.Ordinal);
    }
}
