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
    public async Task Production_InvalidCacheSettings_StopStartup_ListingEveryError()
    {
        await using var gateway = GatewayProcess.Start("Production", "http://127.0.0.1:9/",
            ("CacheProxy__MemoryTierSizeLimit", "10"), ("CacheProxy__MaxVariantsPerUrl", "0"));
        await gateway.WaitExitAsync();

        Assert.NotEqual(0, gateway.ExitCode);
        Assert.Contains("MemoryTierSizeLimit", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("MaxVariantsPerUrl", gateway.Output, StringComparison.Ordinal);
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
}
