using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// An origin's <c>Vary: Accept-Encoding</c> keys on the coding a request is served (br, gzip or identity), not on the
/// field's text, and the origin is asked in those terms (docs/caching.md).
/// </summary>
public sealed class AcceptEncodingVaryTests
{
    /// <summary>An origin that encodes by name only: "gzip" or "br" when the request's field is exactly that.</summary>
    private static Task EncodingOrigin(HttpContext c)
    {
        c.Response.Headers.CacheControl = "max-age=600";
        c.Response.Headers.Vary = "Accept-Encoding";
        var asked = c.Request.Headers.AcceptEncoding.ToString();
        if (asked is "gzip" or "br")
        {
            c.Response.Headers.ContentEncoding = asked;
        }
        return c.Response.WriteAsync("body as " + (asked is "gzip" or "br" ? asked : "identity"));
    }

    [Fact]
    public async Task ManyAcceptEncodingStrings_ShareTheKeyOfTheCodingTheySelect()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = EncodingOrigin;
        await proxy.GetAsync("/v", ("Accept-Encoding", "gzip")); // the rule becomes known

        string[] gzipClients = ["gzip", "gzip, deflate", "deflate, gzip;q=0.9", "GZIP, identity;q=0.5", "x-gzip", "gzip;q=1.0, compress"];
        string[] brClients = ["br", "gzip, deflate, br", "br;q=0.9, gzip;q=0.8", "*"];
        string[] identityClients = ["identity", "deflate", "br;q=0, gzip;q=0", "not a valid;;field=", ""];
        var calls = proxy.Origin.Calls;
        foreach (var value in gzipClients.Concat(brClients).Concat(identityClients))
        {
            await proxy.GetAsync("/v", ("Accept-Encoding", value));
        }

        Assert.Equal(calls + 2, proxy.Origin.Calls); // br and identity fetched once each; gzip was stored already
        // The origin was asked with the class, so what it sent can serve every client of that key.
        Assert.All(proxy.Origin.Seen.Skip(calls), r => Assert.Contains(r.Headers["Accept-Encoding"], new[] { "br", "identity" }));
        var hit = await proxy.GetAsync("/v", ("Accept-Encoding", "deflate, br"));
        Assert.Equal("br", hit.Content.Headers.ContentEncoding.Single());
        Assert.Equal("body as br", await hit.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AResponseInACodingOtherThanTheKeysClass_IsNotStored()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.Vary = "Accept-Encoding";
            c.Response.Headers.ContentEncoding = "gzip"; // whatever the client asked for
            return c.Response.WriteAsync("gzip bytes");
        };

        await proxy.GetAsync("/g", ("Accept-Encoding", "br")); // br class: a gzip body would reach br-only clients
        var again = await proxy.GetAsync("/g", ("Accept-Encoding", "br"));

        Assert.Equal(2, proxy.Origin.Calls);
        Assert.DoesNotContain("stored", again.CacheStatus(), StringComparison.Ordinal);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Message.Contains("is neither identity nor the Accept-Encoding class 'br'", StringComparison.Ordinal));
    }
}
