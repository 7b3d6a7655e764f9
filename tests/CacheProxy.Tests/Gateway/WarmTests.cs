using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// Cache warming through the management endpoint of a real gateway process: every URL takes the cache's own request
/// path (its storage rules apply), with progress in the status, logs and metrics (docs/operations/warming.md).
/// </summary>
public sealed class WarmTests
{
    private static async Task<(TestOrigin Origin, GatewayProcess Gateway)> StartAsync(Func<HttpContext, Task> handler, params (string, string)[] extra)
    {
        var origin = await TestOrigin.StartAsync();
        origin.Handler = handler;
        var gateway = GatewayProcess.Start("Production", origin.Address, [("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), .. extra]);
        await gateway.WaitStartedAsync();
        return (origin, gateway);
    }

    private static HttpRequestMessage Management(HttpMethod method, GatewayProcess gateway, HttpContent? content = null) => new(method, $"http://127.0.0.1:{gateway.ManagementPort}/warm")
    {
        Content = content,
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key) },
    };

    private static async Task<JsonElement> StatusAsync(HttpClient http, GatewayProcess gateway) =>
        await (await http.SendAsync(Management(HttpMethod.Get, gateway))).Content.ReadFromJsonAsync<JsonElement>();

    private static async Task<JsonElement> WaitForStateAsync(HttpClient http, GatewayProcess gateway, string state)
    {
        JsonElement status = default;
        await Signal.WaitUntilAsync(async () => (status = await StatusAsync(http, gateway)).GetProperty("state").GetString() == state);
        return status;
    }

    [Fact]
    public async Task AWarmingJob_StoresWhatTheRulesAllow_AndCountsEachOutcome()
    {
        var (origin, gateway) = await StartAsync(c =>
        {
            switch (c.Request.Path.Value)
            {
                case "/no-store":
                    c.Response.Headers.CacheControl = "no-store";
                    break;
                case "/broken":
                    c.Response.StatusCode = 500;
                    break;
                default:
                    c.Response.Headers.CacheControl = "max-age=600";
                    break;
            }
            return c.Response.WriteAsync("page " + c.Request.Path);
        });
        await using var _ = origin;
        await using var __ = gateway;
        using var http = new HttpClient();
        var urls = new[] { "/a", "/b", "/c", "/no-store", "/broken" }.Select(p => "http://www.example.test" + p).ToArray();

        var started = await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls })));
        var done = await WaitForStateAsync(http, gateway, "completed");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal((5, 3, 0, 1, 1), (done.GetProperty("done").GetInt32(), done.GetProperty("stored").GetInt32(), done.GetProperty("cached").GetInt32(),
            done.GetProperty("notStored").GetInt32(), done.GetProperty("failed").GetInt32()));
        // What was warmed is a hit for a client of that host; the origin saw each URL once.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.PublicPort}/b") { Headers = { Host = "www.example.test" } };
        var hit = await http.SendAsync(request);
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(1, origin.Seen.Count(r => r.PathAndQuery == "/b"));
        Assert.Contains("\"EventId\":1722", await gateway.WaitForLineAsync("\"EventId\":1722"), StringComparison.Ordinal);
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics");
        Assert.Contains("outcome=\"stored\"} 3", metrics, StringComparison.Ordinal);

        // Warming again finds them cached: nothing more reaches the origin for them.
        await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls = urls[..3] })));
        var again = await WaitForStateAsync(http, gateway, "completed");
        Assert.Equal(3, again.GetProperty("cached").GetInt32());
        Assert.Equal(1, origin.Seen.Count(r => r.PathAndQuery == "/a"));
    }

    [Fact]
    public async Task ASitemap_IsWarmed_AndBadInputIsRefusedNamingTheField()
    {
        var (origin, gateway) = await StartAsync(c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("page");
        });
        await using var _ = origin;
        await using var __ = gateway;
        using var http = new HttpClient();
        const string sitemap = """
            <?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc>http://www.example.test/one</loc></url>
              <url><loc> http://www.example.test/two </loc></url>
            </urlset>
            """;

        var fromSitemap = await http.SendAsync(Management(HttpMethod.Post, gateway, new StringContent(sitemap, Encoding.UTF8, "application/xml")));
        var status = await WaitForStateAsync(http, gateway, "completed");
        var relative = await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls = new[] { "http://www.example.test/x", "/relative" } })));
        var notXml = await http.SendAsync(Management(HttpMethod.Post, gateway, new StringContent("<urlset><url>", Encoding.UTF8, "application/xml")));
        var noKey = await http.PostAsync($"http://127.0.0.1:{gateway.ManagementPort}/warm", JsonContent.Create(new { urls = new[] { "http://www.example.test/" } }));

        Assert.Equal(HttpStatusCode.Accepted, fromSitemap.StatusCode);
        Assert.Equal(2, status.GetProperty("stored").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, relative.StatusCode);
        Assert.Contains("urls[1]", await relative.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, notXml.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
    }

    [Fact]
    public async Task WhileAJobRuns_AnotherIsRefused_AndDeleteEndsIt_SoANewOneCanStart()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new ConcurrentQueue<string>();
        var (origin, gateway) = await StartAsync(async c =>
        {
            arrived.Enqueue(c.Request.Path.Value!);
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30)); // held until the test lets the origin answer
            c.Response.Headers.CacheControl = "max-age=600";
            await c.Response.WriteAsync("slow");
        }, ("CacheProxy__Warm__Concurrency", "1"));
        await using var _ = origin;
        await using var __ = gateway;
        using var http = new HttpClient();
        var urls = Enumerable.Range(0, 20).Select(i => $"http://www.example.test/slow/{i}").ToArray();

        await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls })));
        await Signal.WaitUntilAsync(() => !arrived.IsEmpty);
        var second = await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls })));
        var cancel = await http.SendAsync(Management(HttpMethod.Delete, gateway));
        // Still while the origin holds the first job's request: the job is over, and a new one starts.
        var afterCancel = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        var next = await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls = new[] { "http://www.example.test/next" } })));
        release.SetResult();
        var completed = await WaitForStateAsync(http, gateway, "completed");

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", afterCancel.GetProperty("state").GetString());
        Assert.True(afterCancel.GetProperty("done").GetInt32() < urls.Length);
        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
        Assert.Equal((1, 1), (completed.GetProperty("count").GetInt32(), completed.GetProperty("stored").GetInt32()));
        Assert.Single(arrived, p => p.StartsWith("/slow/", StringComparison.Ordinal)); // Concurrency 1: the second URL waited, then the job ended
    }

    [Fact]
    public async Task HostileUrls_NeverMakeTheWarmerConnectElsewhere_AndEachFailsOrWarmsAlone()
    {
        using var elsewhere = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        elsewhere.Start();
        var port = ((IPEndPoint)elsewhere.LocalEndpoint).Port;
        var (origin, gateway) = await StartAsync(c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("page " + c.Request.Path);
        });
        await using var _ = origin;
        await using var __ = gateway;
        using var http = new HttpClient();
        string[] urls =
        [
            $"http://www.example.test//127.0.0.1:{port}/authority-in-path",
            $"http://www.example.test/a/../..//127.0.0.1:{port}/dot-segments",
            $"http://www.example.test/%2F%2F127.0.0.1:{port}/encoded",
            $"http://user:pw@127.0.0.1:{port}/userinfo",
            "http://bücher.example/idn",
            "http://www.example.test/plain",
        ];

        var started = await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls })));
        var done = await WaitForStateAsync(http, gateway, "completed");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(urls.Length, done.GetProperty("done").GetInt32());
        Assert.Equal(urls.Length, done.GetProperty("stored").GetInt32() + done.GetProperty("failed").GetInt32());
        Assert.False(elsewhere.Pending(), "the warmer connected to a listener that only a URL's authority or path named");
        Assert.Contains(origin.Seen, r => r.PathAndQuery == "/plain");
        Assert.Contains(origin.Seen, r => r.PathAndQuery == $"//127.0.0.1:{port}/authority-in-path"); // a path, asked of the gateway
    }

    [Fact]
    public async Task AnHttp2OnlyPublicEndpoint_IsWarmedOverH2c()
    {
        var (origin, gateway) = await StartAsync(c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("page");
        }, ("Kestrel__Endpoints__Public__Protocols", "Http2"));
        await using var _ = origin;
        await using var __ = gateway;
        using var http = new HttpClient();

        await http.SendAsync(Management(HttpMethod.Post, gateway, JsonContent.Create(new { urls = new[] { "http://www.example.test/one", "http://www.example.test/two" } })));
        var done = await WaitForStateAsync(http, gateway, "completed");

        Assert.Equal((2, 0), (done.GetProperty("stored").GetInt32(), done.GetProperty("failed").GetInt32()));
        Assert.Equal(2, origin.Calls);
    }

    [Fact]
    public async Task WarmingAtStartup_HoldsReadinessUntilItEnds_WhenAskedTo()
    {
        using var file = await TempFile.WriteAsync("# warmed before traffic\nhttp://www.example.test/home\n\nhttp://www.example.test/news\n");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var (origin, gateway) = await StartAsync(async c =>
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30)); // held until the test has seen readiness fail
                c.Response.Headers.CacheControl = "max-age=600";
                await c.Response.WriteAsync("warm " + c.Request.Path);
            }, ("CacheProxy__Warm__StartupFile", file.Path), ("CacheProxy__Warm__GateReadiness", "true"));
            await using var _ = origin;
            await using var __ = gateway;
            using var http = new HttpClient();
            var ready = $"http://127.0.0.1:{gateway.ManagementPort}/health/ready";

            await Signal.WaitUntilAsync(() => origin.Calls > 0);
            var whileWarming = await http.GetAsync(ready);
            release.SetResult();
            await Signal.WaitUntilAsync(async () => (await http.GetAsync(ready)).StatusCode == HttpStatusCode.OK);
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.PublicPort}/news") { Headers = { Host = "www.example.test" } };
            var hit = await http.SendAsync(request);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, whileWarming.StatusCode);
            Assert.Contains("Warming at startup", await whileWarming.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
            Assert.Equal(2, origin.Calls);
        }
        finally
        {
            release.TrySetResult();
        }
    }
}
