using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CacheProxy.Tests.Security;

/// <summary>What a misbehaving upstream sends does not reach clients as it came, nor stay in the cache.</summary>
public sealed class UpstreamResponseTests
{
    [Theory]
    [InlineData("O\u0001K")]
    [InlineData("OK\u001b[2J")]
    [InlineData("Everything is fine\u007f")]
    public async Task AReasonPhraseWithControlCharacters_NeverReachesTheClient_TheStandardOneDoes(string reason)
    {
        await using var origin = new TruncatingOrigin($"HTTP/1.1 200 {reason}\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok");
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();

        var first = await RawHttp.SendAsync(gateway.PublicPort, "GET /r HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
        var hit = await RawHttp.SendAsync(gateway.PublicPort, "GET /r HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", first, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", hit, StringComparison.Ordinal);
        Assert.DoesNotContain(first.Concat(hit), c => char.IsControl(c) && c is not ('\r' or '\n'));
    }

    [Fact]
    public async Task AStaleResponseServedBecauseTheOriginFailed_CarriesNothingOfTheFailingResponse()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=1, stale-if-error=600";
            return c.Response.WriteAsync("good");
        };
        await proxy.GetAsync("/s");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            c.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = "Backend On Fire";
            c.Response.Headers["X-Failing"] = "yes";
            return c.Response.WriteAsync("failure page");
        };

        var stale = await proxy.GetAsync("/s");

        Assert.Equal(200, (int)stale.StatusCode);
        Assert.Equal("good", await stale.Content.ReadAsStringAsync());
        Assert.Contains("stale-if-error", stale.CacheStatus(), StringComparison.Ordinal);
        Assert.NotEqual("Backend On Fire", stale.ReasonPhrase);
        Assert.Null(stale.Header("X-Failing"));
    }

    [Fact]
    public async Task BytesBeyondTheContentLength_AreNeitherStoredNorServed_NorTakenForTheNextResponse()
    {
        // What a desynchronised or malicious origin sends: the declared body, more of it, and a whole second response.
        const string smuggled = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 4\r\n\r\nevil";
        await using var origin = new TruncatingOrigin("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\nhello world" + smuggled);
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();

        var first = await RawHttp.SendAsync(gateway.PublicPort, "GET /r HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
        var hit = await RawHttp.SendAsync(gateway.PublicPort, "GET /r HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
        var next = await RawHttp.SendAsync(gateway.PublicPort, "GET /next HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");

        Assert.EndsWith("\r\n\r\nhello", first, StringComparison.Ordinal);
        Assert.Contains("Cache-Status: CacheProxy; hit", hit, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nhello", hit, StringComparison.Ordinal);
        // The next request went to the origin on a new connection (SocketsHttpHandler discards one with leftover
        // bytes) and got its own answer, not the smuggled one.
        Assert.Equal(2, origin.Calls);
        Assert.EndsWith("\r\n\r\nhello", next, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", first + hit + next, StringComparison.Ordinal);
    }
}
