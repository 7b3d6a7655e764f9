using System.Collections.Concurrent;
using CacheProxy.Http;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Warming;

/// <summary>Link preloads of stored responses warmed through the gateway (docs/caching.md, "Warming what a page preloads").</summary>
public sealed class LinkWarmingTests
{
    // A page preloads a stylesheet, prefetches a script, preloads something on another host and names a plain link:
    // with Routes:all:WarmLinks the gateway asks for the first two itself (they are then hits), and for nothing else.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task APagesPreloads_AreWarmed_OnItsOwnHostOnly_WhenTheRouteSaysSo(bool enabled)
    {
        await using var origin = await TestOrigin.StartAsync();
        var asked = new ConcurrentQueue<string>();
        origin.Handler = c =>
        {
            asked.Enqueue(c.Request.Path + c.Request.QueryString);
            c.Response.Headers.CacheControl = "max-age=600";
            if (c.Request.Path == "/page")
            {
                c.Response.Headers.Link = new StringValues([
                    "</static/site.css>; rel=preload; as=style, <https://cdn.elsewhere.example/lib.js>; rel=preload; as=script",
                    "</static/app.js?v=2>; rel=\"prefetch\", </about>; rel=next"]);
            }
            return c.Response.WriteAsync("content of " + c.Request.Path);
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CacheProxy__Routes__all__WarmLinks", enabled ? "true" : "false"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var publicBase = $"http://127.0.0.1:{gateway.PublicPort}";

        await http.GetAsync($"{publicBase}/page");
        if (enabled)
        {
            // The two warming requests answered through the cache, their responses stored.
            await Signal.WaitUntilAsync(async () => (await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics"))
                .Split('\n').Any(l => l.StartsWith("cacheproxy_warm_requests_total{", StringComparison.Ordinal) && l.Contains("outcome=\"stored\"", StringComparison.Ordinal) && l.EndsWith(" 2", StringComparison.Ordinal)));
        }
        var css = await http.GetAsync($"{publicBase}/static/site.css");
        var js = await http.GetAsync($"{publicBase}/static/app.js?v=2");

        var expected = enabled ? "CacheProxy; hit" : "CacheProxy; fwd=miss";
        Assert.StartsWith(expected, string.Join(",", css.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.StartsWith(expected, string.Join(",", js.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.Equal(["/page", "/static/app.js?v=2", "/static/site.css"], asked.Order(StringComparer.Ordinal)); // each once, nothing else
        Assert.DoesNotContain("/about", asked);
    }

    [Fact]
    public void TheLinkField_IsReadAsRfc8288Says()
    {
        StringValues links = new([
            "<https://a.example/x>; rel=\"preload prefetch\"; as=script, </y>;rel=PRELOAD",
            "</z>; rel=\"next\"; title=\"a, b; c\", </q>; rel=prefetch",
            "garbage, </w>; as=style; rel=preload",
            "<unterminated; rel=preload"]);

        Assert.Equal(["https://a.example/x", "/y", "/q", "/w"], LinkField.Targets(links, "preload", "prefetch"));
    }

    [Fact]
    public async Task TooManyLinksPerResponse_IsRefusedAtStartup_WithItsKey()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o => o.Warm.MaxLinksPerResponse = 101));

        Assert.Contains("CacheProxy:Warm:MaxLinksPerResponse must be between 0 and 100 (was 101)", error.Message, StringComparison.Ordinal);
    }
}
