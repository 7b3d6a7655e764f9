using System.Globalization;
using System.Net;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>A stored response never hands one client's Set-Cookie to another, unless a route says its cookies are everyone's.</summary>
public sealed class SetCookieTests
{
    /// <summary>An origin that gives every response a cookie of its own (a session), and explicit freshness.</summary>
    private static void SessionOrigin(ProxyFixture proxy, string cacheControl = "max-age=60") => proxy.Origin.Handler = c =>
    {
        c.Response.Headers.CacheControl = cacheControl;
        c.Response.Headers.SetCookie = "session=" + proxy.Origin.Calls.ToString(CultureInfo.InvariantCulture);
        return c.Response.WriteAsync("page");
    };

    [Fact]
    public async Task ByDefault_AResponseWithSetCookie_IsNotStored_EvenWhenExplicitlyFresh()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        SessionOrigin(proxy);

        var first = await proxy.GetAsync("/p");
        var second = await proxy.GetAsync("/p");

        Assert.Equal("session=1", first.Header("Set-Cookie"));
        Assert.Equal("session=2", second.Header("Set-Cookie")); // its own, from the origin
        Assert.Equal(2, proxy.Origin.Calls);
        Assert.DoesNotContain("stored", first.CacheStatus(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARouteThatStoresWithoutSetCookie_GivesTheCookieToTheFetchingClientOnly()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new RouteCacheOptions { SetCookie = SetCookiePolicy.StoreWithoutSetCookie });
        SessionOrigin(proxy);

        var first = await proxy.GetAsync("/p");
        var hit = await proxy.GetAsync("/p");

        Assert.Equal("session=1", first.Header("Set-Cookie"));
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Null(hit.Header("Set-Cookie"));
        Assert.Equal("page", await hit.Content.ReadAsStringAsync());
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task StoreWithSetCookie_ReplaysIt_ButOnlyWhenTheOriginGaveExplicitFreshness()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.SetCookie = SetCookiePolicy.StoreWithSetCookie);
        SessionOrigin(proxy);
        await proxy.GetAsync("/explicit");
        var hit = await proxy.GetAsync("/explicit");
        Assert.Equal("session=1", hit.Header("Set-Cookie")); // the opt-in: the same cookie for everyone

        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.SetCookie = "a=b";
            c.Response.Headers.LastModified = "Wed, 01 Jan 2020 00:00:00 GMT"; // heuristic freshness only
            return c.Response.WriteAsync("x");
        };
        await proxy.GetAsync("/heuristic");
        await proxy.GetAsync("/heuristic");
        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ASetCookieOnA304_GoesToTheRevalidatingClient_AndIsNotStored()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                c.Response.Headers.SetCookie = "session=revalidator";
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("page");
        };

        await proxy.GetAsync("/r");
        proxy.Time.Advance(TimeSpan.FromSeconds(11));
        var revalidated = await proxy.GetAsync("/r");
        var hit = await proxy.GetAsync("/r");

        Assert.Equal(HttpStatusCode.OK, revalidated.StatusCode);
        Assert.Contains("fwd-status=304", revalidated.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("session=revalidator", revalidated.Header("Set-Cookie"));
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Null(hit.Header("Set-Cookie"));
    }
}
