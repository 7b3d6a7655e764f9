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

        Assert.NotEqual(0, gateway.ExitCode);
        Assert.Contains(message, gateway.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Clusters:origin:Destinations:primary:Address", gateway.Output, StringComparison.Ordinal);
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

    [Fact]
    public async Task Development_WithoutUpstream_StartsTheDemoOrigin_AndCaches()
    {
        await using var gateway = GatewayProcess.Start("Development", null);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();

        var first = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/demo/hello");
        var second = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/demo/hello");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
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
