using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>
/// A response made for one user becomes shared only when the origin said so explicitly: never through a heuristic
/// lifetime, and never served stale on the cache's own initiative unless it was explicitly fresh.
/// </summary>
public sealed class CredentialsTests
{
    private static Func<HttpContext, Task> Heuristic(ProxyFixture proxy, string? cacheControl = null, string? etag = null) => c =>
    {
        c.Response.Headers.LastModified = proxy.Time.GetUtcNow().AddDays(-10).ToString("r"); // a heuristic lifetime of a day
        if (cacheControl is not null)
        {
            c.Response.Headers.CacheControl = cacheControl;
        }
        if (etag is not null)
        {
            c.Response.Headers.ETag = etag;
        }
        return c.Response.WriteAsync("page for " + c.Request.Headers.Cookie);
    };

    [Theory]
    [InlineData("Cookie", "session=alice")]
    [InlineData("Authorization", "Bearer alice")]
    public async Task AResponseToARequestWithCredentials_IsNotStoredOnAHeuristicLifetime(string header, string value)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        // must-revalidate lets RFC 9111 §3.5 store a response to Authorization; its lifetime is still only heuristic.
        proxy.Origin.Handler = Heuristic(proxy, cacheControl: header == "Authorization" ? "must-revalidate" : null);

        await proxy.GetAsync("/h", (header, value));
        var second = await proxy.GetAsync("/h"); // another user, no credentials

        Assert.Equal(2, proxy.Origin.Calls);
        Assert.DoesNotContain("hit", second.CacheStatus(), StringComparison.Ordinal);

        // Without credentials the same heuristic response is shared (RFC 9111 §4.2.2).
        await proxy.GetAsync("/anonymous");
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/anonymous")).CacheStatus(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("max-age=60", null)]
    [InlineData("s-maxage=60", null)]
    [InlineData("public", "\"v1\"")] // public with a validator
    public async Task AResponseToARequestWithACookie_IsStored_WhenTheOriginMadeItExplicitlyShareable(string cacheControl, string? etag)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Heuristic(proxy, cacheControl, etag);

        await proxy.GetAsync("/e", ("Cookie", "session=alice"));
        var second = await proxy.GetAsync("/e");

        Assert.StartsWith("CacheProxy; hit", second.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ACredentialHeaderFromConfiguration_CountsLikeACookie()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.CredentialHeaders.Add("X-Api-Key"));
        proxy.Origin.Handler = Heuristic(proxy);

        await proxy.GetAsync("/k", ("X-Api-Key", "alice-key"));
        await proxy.GetAsync("/k");

        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task AHeuristicallyFreshEntry_IsNotServedStale_WhenTheUpstreamIsUnreachable_AnExplicitlyFreshOneIs()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            if (c.Request.Path == "/explicit")
            {
                c.Response.Headers.CacheControl = "max-age=1";
            }
            else
            {
                c.Response.Headers.LastModified = proxy.Time.GetUtcNow().AddSeconds(-50).ToString("r"); // 5 s heuristic
            }
            return c.Response.WriteAsync("good");
        };
        await proxy.GetAsync("/heuristic");
        await proxy.GetAsync("/explicit");
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/heuristic")).CacheStatus(), StringComparison.Ordinal);
        proxy.Time.Advance(TimeSpan.FromSeconds(10));
        proxy.Origin.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        var heuristic = await proxy.GetAsync("/heuristic");
        var explicitlyFresh = await proxy.GetAsync("/explicit");

        Assert.Equal(HttpStatusCode.BadGateway, heuristic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, explicitlyFresh.StatusCode);
        Assert.Contains("detail=upstream-unreachable", explicitlyFresh.CacheStatus(), StringComparison.Ordinal);
    }
}
