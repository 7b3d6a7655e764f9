using System.Net;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Gateway;

/// <summary>The sample gateway's contract: the environment variables of issue #2, run as a real process.</summary>
public sealed class GatewayProcessTests
{
    [Fact]
    public async Task Production_SecondGetIsAHit_AndHealthAnswersOnlyOnTheManagementPort()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("from origin");
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var publicBase = $"http://127.0.0.1:{gateway.PublicPort}";
        var managementBase = $"http://127.0.0.1:{gateway.ManagementPort}";

        var first = await http.GetAsync($"{publicBase}/item");
        var second = await http.GetAsync($"{publicBase}/item");
        // A fresh stored response is still no answer on the management port, even asked for with the public Host.
        using var onManagementPort = new HttpRequestMessage(HttpMethod.Get, $"{managementBase}/item");
        onManagementPort.Headers.Host = $"127.0.0.1:{gateway.PublicPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(onManagementPort)).StatusCode);
        using var put = await http.PutAsync($"{publicBase}/item", new StringContent("changed"));

        Assert.Equal("from origin", await second.Content.ReadAsStringAsync());
        Assert.Contains("fwd=miss", first.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.Equal("PUT", origin.Seen.Last().Method); // PUT is forwarded unchanged
        Assert.Equal(2, origin.Calls);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{managementBase}/health")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{publicBase}/health")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{managementBase}/item")).StatusCode);
        Assert.Equal(2, origin.Calls);
    }

    [Theory]
    [InlineData(null, "No upstream configured")]
    [InlineData("not-a-url", "is not an absolute http:// or https:// URL")]
    [InlineData("ftp://files.example/", "is not an absolute http:// or https:// URL")]
    public async Task Production_MissingOrInvalidUpstream_StopsStartupWithAClearError(string? upstream, string message)
    {
        await using var gateway = GatewayProcess.Start("Production", upstream);
        await gateway.WaitExitAsync();

        Assert.Equal(78, gateway.ExitCode); // EX_CONFIG (docs/configuration.md#startup-errors)
        Assert.Contains(message, gateway.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Clusters:origin:Destinations:primary:Address", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", gateway.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Regression: a value that did not convert crashed the gateway (an unhandled InvalidOperationException, a stack
    /// trace, exit 134) and hid MaxObjectSize=-5 beside it. Now both are one event 1300, and the exit code says why.
    /// </summary>
    [Fact]
    public async Task Production_AValueThatDoesNotConvert_IsReportedWithTheOtherErrors_AndExits78WithoutAStackTrace()
    {
        await using var gateway = GatewayProcess.Start("Production", "http://127.0.0.1:9/",
            ("CacheProxy__MemoryTierSizeLimit", "lots"), ("CacheProxy__MaxObjectSize", "-5"), ("CacheProxy__MaxObjSize", "5"));
        await gateway.WaitExitAsync();

        Assert.Equal(78, gateway.ExitCode);
        var invalid = Assert.Single(gateway.Output.Split('\n'), l => l.Contains("\"EventId\":1300", StringComparison.Ordinal));
        Assert.Contains("CacheProxy:MemoryTierSizeLimit: 'lots' is not a whole number (Int64).", invalid, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:MaxObjectSize must be between 1", invalid, StringComparison.Ordinal);
        var unknown = Assert.Single(gateway.Output.Split('\n'), l => l.Contains("\"EventId\":1305", StringComparison.Ordinal));
        Assert.Contains("did you mean CacheProxy:MaxObjectSize?", unknown, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal); // no stack trace
    }

    /// <summary>Regression: a taken port stopped the Development sample with Kestrel's error, which names an address, not the endpoint to move.</summary>
    [Fact]
    public async Task Development_AnEndpointThatCannotListen_IsNamed_AndExits69()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var gateway = GatewayProcess.Start("Development", null, ("Kestrel__Endpoints__PublicH2c__Url", $"http://127.0.0.1:{port}"));
        await gateway.WaitExitAsync();

        Assert.Equal(69, gateway.ExitCode);
        Assert.Contains($"Kestrel endpoint PublicH2c (http://127.0.0.1:{port}) cannot listen", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("Kestrel__Endpoints__PublicH2c__Url", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_LogsJsonLines_WithTheCorrelationIdScope()
    {
        var closedPort = GatewayProcess.FreePort();
        await using var gateway = GatewayProcess.Start("Production", $"http://127.0.0.1:{closedPort}/");
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.PublicPort}/down");
        request.Headers.Add("X-Request-ID", "json-log-1");

        var response = await http.SendAsync(request);
        var line = await gateway.WaitForLineAsync("\"EventId\":1200");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(line);
        Assert.Equal("CacheProxy.Upstream", json.RootElement.GetProperty("Category").GetString());
        Assert.Equal("Warning", json.RootElement.GetProperty("LogLevel").GetString());
        Assert.Contains(json.RootElement.GetProperty("Scopes").EnumerateArray(),
            s => s.TryGetProperty("CorrelationId", out var id) && id.GetString() == "json-log-1");
    }

    /// <summary>
    /// The README's first command and the comments of its curl lines: the sample in Development with YARP's active
    /// health check on as shipped (only the ports moved, as the README says how). Regression: the check probed "/",
    /// which the demo origin did not serve, so readiness turned Unhealthy, and the probe was counted in the body.
    /// </summary>
    [Fact]
    public async Task Development_AsTheReadmeRunsIt_IsReady_CachesAndLogsNoDebugLines()
    {
        await using var gateway = GatewayProcess.Start("Development", null, ("ReverseProxy__Clusters__origin__HealthCheck__Active__Enabled", "true"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var publicBase = $"http://127.0.0.1:{gateway.PublicPort}";
        // YARP probes the demo origin once at startup: wait for its verdict in the readiness data, not for a time.
        string? probed = null;
        await Signal.WaitUntilAsync(async () => (probed = await DestinationStateAsync(http, gateway)) is not "active Unknown, passive Unknown");

        var first = await http.GetAsync($"{publicBase}/demo/hello");
        var second = await http.GetAsync($"{publicBase}/demo/hello");
        Task<HttpResponseMessage> Items() => http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{publicBase}/demo/items") { Headers = { { "Accept-Encoding", "br" } } });
        await Items(); // the miss
        HttpResponseMessage brHit = await Items(); // the first hit compresses it for br, in the background
        await Signal.WaitUntilAsync(async () => (brHit = await Items()).Content.Headers.ContentEncoding.Contains("br"));
        var ready = await http.GetAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/ready");

        Assert.StartsWith("active Healthy", probed);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("hello from the demo origin, request 1\n", await first.Content.ReadAsStringAsync());
        Assert.Equal("CacheProxy; fwd=miss; fwd-status=200; stored", first.CacheStatus());
        Assert.Equal("CacheProxy; hit", second.CacheStatus());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal("CacheProxy; hit", brHit.CacheStatus());
        Assert.Equal("br", Assert.Single(brHit.Content.Headers.ContentEncoding));
        Assert.DoesNotContain("dbug:", gateway.Output, StringComparison.Ordinal); // Debug is for asking, not the default
        Assert.DoesNotContain("[1305]", gateway.Output, StringComparison.Ordinal); // the shipped settings bind, every key
        Assert.Contains($"try: curl -i {publicBase}/demo/hello twice", gateway.Output, StringComparison.Ordinal); // a line to paste
    }

    /// <summary>
    /// The demo page (Development turns ESI on): assembled from its cached fragments on real Kestrel, with the
    /// fragment's freshness and a Content-Length once every part is in the memory tier.
    /// </summary>
    [Fact]
    public async Task Development_AssemblesTheDemoPage_WithContentLengthOnceEveryPartIsStored()
    {
        await using var gateway = GatewayProcess.Start("Development", null);
        await gateway.WaitStartedAsync();
        const string request = "GET /demo/page?lang=de HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

        var miss = await RawHttp.SendAsync(gateway.PublicPort, request);
        var hit = await RawHttp.SendAsync(gateway.PublicPort, request);

        Assert.Contains("Cache-Status: CacheProxy; fwd=miss; fwd-status=200; stored", miss, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Content-Length:", hit, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Transfer-Encoding", hit, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"Cache-Control: max-age=(10|[0-9])\r\n", hit); // what remains of the price's 10 s
        Assert.Contains("Cache-Status: CacheProxy; hit", hit, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"<p>Price: \d+\.\d\d EUR</p>", hit); // the miss may be chunked, its chunk sizes between the parts
        foreach (var response in new[] { miss, hit })
        {
            Assert.Contains("<p>Hallo!</p>", response, StringComparison.Ordinal);
            Assert.DoesNotContain("esi:", response, StringComparison.Ordinal);
            Assert.DoesNotContain("Surrogate-Control", response, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("X-Request-ID:", response, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The README's GraphQL and experiment lines: the Development settings' demo routes, as a user tries them.</summary>
    [Fact]
    public async Task Development_CachesTheDemoGraphQLQuery_PurgesItOnMutation_AndAssignsTheDemoExperiment()
    {
        await using var gateway = GatewayProcess.Start("Development", null);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var graphql = $"http://127.0.0.1:{gateway.PublicPort}/demo/graphql";
        Task<HttpResponseMessage> PostAsync(string body) =>
            http.PostAsync(graphql, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        const string query = "{\"query\":\"query P($id: ID!) { product(id: $id) { __typename id price } }\",\"variables\":{\"id\":\"2\"}}";

        var miss = await PostAsync(query);
        var hit = await PostAsync(query);
        await PostAsync("{\"query\":\"mutation S($id: ID!, $price: Float!) { setPrice(id: $id, price: $price) { __typename id price } }\",\"variables\":{\"id\":\"2\",\"price\":1.5}}");
        var afterMutation = await PostAsync(query);
        var experiment = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/demo/experiment");

        Assert.Equal("CacheProxy; fwd=miss; fwd-status=200; stored; detail=\"graphql P\"", miss.CacheStatus());
        Assert.Equal("CacheProxy; hit; detail=\"graphql P\"", hit.CacheStatus());
        Assert.DoesNotContain("hit", afterMutation.CacheStatus());
        Assert.Contains("\"price\":1.5", await afterMutation.Content.ReadAsStringAsync());
        Assert.Matches("^cp_exp_checkout=(control|one-page)\\.[0-9a-f]{16};", experiment.Headers.GetValues("Set-Cookie").Single());
        Assert.Matches("^checkout page, variant (control|one-page),", await experiment.Content.ReadAsStringAsync());
    }

    /// <summary>The README's image line: the Development settings' image route, a resized AVIF of the demo photo made once.</summary>
    [Fact]
    public async Task Development_ServesTheDemoPhoto_AsAResizedAvif_MadeOnce()
    {
        await using var gateway = GatewayProcess.Start("Development", null);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        Task<HttpResponseMessage> GetAsync() => http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.PublicPort}/demo/images/photo.jpg?w=640")
        {
            Headers = { { "Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8" } },
        });

        var miss = await GetAsync();
        var hit = await GetAsync();

        Assert.Equal("image/avif", miss.Content.Headers.ContentType?.MediaType);
        Assert.Contains("stored", miss.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        using var avif = NetVips.Image.NewFromBuffer(await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal((640, 400), (avif.Width, avif.Height));
    }

    /// <summary>What readiness says of the demo origin's one destination (<c>active …, passive …</c>).</summary>
    private static async Task<string?> DestinationStateAsync(HttpClient http, GatewayProcess gateway)
    {
        using var response = await http.GetAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/ready");
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("checks").GetProperty("upstream").GetProperty("data").GetProperty("origin/primary").GetString();
    }

    [Fact]
    public async Task Production_WithRedis_HitsAfterARestart_AndAnswers200WhileRedisIsStopped()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("from origin " + c.Request.Path);
        };
        var redisSetting = ("CacheProxy__Redis__Configuration", redis.Endpoint);
        using var http = new HttpClient();

        await using (var first = GatewayProcess.Start("Production", origin.Address, redisSetting))
        {
            await first.WaitStartedAsync();
            await first.WaitHealthyAsync();
            await http.SendAsync(SameHost($"http://127.0.0.1:{first.PublicPort}/kept"));
            await first.StopGracefullyAsync(); // as a deploy does: in-flight work (the Redis write) completes
            Assert.Equal(0, first.ExitCode);
        }
        await using var second = GatewayProcess.Start("Production", origin.Address, redisSetting);
        await second.WaitStartedAsync();
        await second.WaitHealthyAsync();
        var afterRestart = await http.SendAsync(SameHost($"http://127.0.0.1:{second.PublicPort}/kept"));
        await redis.KillAsync();
        var whileDown = await http.GetAsync($"http://127.0.0.1:{second.PublicPort}/new");
        var health = await second.HealthAsync();

        Assert.StartsWith("CacheProxy; hit", afterRestart.CacheStatus());
        Assert.Equal(HttpStatusCode.OK, whileDown.StatusCode);
        Assert.Equal("from origin /new", await whileDown.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Calls);
        Assert.Equal("Degraded", health);
    }

    /// <summary>The host is part of the cache key; a restarted gateway here listens on a new port, a real one keeps its name.</summary>
    private static HttpRequestMessage SameHost(string url) => new(HttpMethod.Get, url) { Headers = { Host = "gateway.example" } };
}
