using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Caching;

/// <summary><c>Routes:{id}:Key:Cookies</c>: entries keyed on named cookies' values, the rest of the credential rules kept (docs/experiments.md).</summary>
public sealed class CookieKeyTests
{
    private static Task<ProxyFixture> StartAsync(bool forwardOnlyKeyed, params string[] cookies) => ProxyFixture.StartAsync(o =>
    {
        var route = o.Routes["all"] = new RouteCacheOptions();
        foreach (var cookie in cookies)
        {
            route.Key.Cookies.Add(cookie);
        }
        route.Key.ForwardOnlyKeyedCookies = forwardOnlyKeyed;
    });

    /// <summary>An origin whose page shows the cookies that reached it, with the freshness given.</summary>
    private static void EchoCookies(ProxyFixture proxy, string? cacheControl = "max-age=60") => proxy.Origin.Handler = c =>
    {
        if (cacheControl is not null)
        {
            c.Response.Headers.CacheControl = cacheControl;
        }
        c.Response.Headers.LastModified = "Mon, 01 Jan 2024 00:00:00 GMT"; // heuristically fresh for a long time
        return c.Response.WriteAsync($"cookie={c.Request.Headers.Cookie}");
    };

    [Fact]
    public async Task EachValueOfAKeyedCookie_HasItsEntry_AndOtherCookiesNeitherKeyNorReachTheOrigin()
    {
        await using var proxy = await StartAsync(forwardOnlyKeyed: true, "currency", "lang");
        EchoCookies(proxy, cacheControl: null); // heuristic freshness only: what keyed cookies alone may be stored with

        var euro = await proxy.GetAsync("/prices", ("Cookie", "session=alice; currency=EUR"));
        var euroToo = await proxy.GetAsync("/prices", ("Cookie", "currency=EUR; session=bob; tracking=1"));
        var dollar = await proxy.GetAsync("/prices", ("Cookie", "currency=USD"));
        var euroInFrench = await proxy.GetAsync("/prices", ("Cookie", "lang=fr; currency=EUR"));
        var none = await proxy.GetAsync("/prices");
        var noneAgain = await proxy.GetAsync("/prices", ("Cookie", "session=carol"));

        Assert.Equal("cookie=currency=EUR", await euro.Content.ReadAsStringAsync());
        Assert.Contains("stored", euro.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", euroToo.CacheStatus());
        Assert.Equal("cookie=currency=USD", await dollar.Content.ReadAsStringAsync());
        Assert.Equal("cookie=lang=fr; currency=EUR", await euroInFrench.Content.ReadAsStringAsync());
        Assert.Equal("cookie=", await none.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", noneAgain.CacheStatus());
        Assert.Equal(4, proxy.Origin.Calls);
    }

    [Fact]
    public async Task WhenEveryCookieIsForwarded_TheCredentialRulesStillHold()
    {
        await using var proxy = await StartAsync(forwardOnlyKeyed: false, "currency");
        EchoCookies(proxy, cacheControl: null);

        var heuristic = await proxy.GetAsync("/account", ("Cookie", "currency=EUR; session=alice"));
        Assert.DoesNotContain("stored", heuristic.CacheStatus()); // a page that may be alice's: no explicit freshness, not shared
        Assert.Equal("cookie=currency=EUR; session=alice", await heuristic.Content.ReadAsStringAsync());

        EchoCookies(proxy, cacheControl: "max-age=60");
        await proxy.GetAsync("/catalog", ("Cookie", "currency=EUR; session=alice"));
        var sameCurrency = await proxy.GetAsync("/catalog", ("Cookie", "currency=EUR; session=bob"));
        var otherCurrency = await proxy.GetAsync("/catalog", ("Cookie", "currency=GBP; session=bob"));
        Assert.StartsWith("CacheProxy; hit", sameCurrency.CacheStatus());
        Assert.DoesNotContain("hit", otherCurrency.CacheStatus());
    }

    [Fact]
    public async Task ARouteKeyedOnASessionCookie_IsWarnedAboutAtStartup()
    {
        await using var proxy = await StartAsync(forwardOnlyKeyed: true, "ASP.NET_SessionId", "currency");

        var warnings = proxy.Logs.GetSnapshot().Where(r => r.Id.Name == "RouteKeyedPerUser").ToList();
        Assert.Single(warnings);
        Assert.Contains("ASP.NET_SessionId", warnings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyedCookieNameThatIsNoToken_IsRefusedAtStartup()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(forwardOnlyKeyed: false, "has space"));

        Assert.Contains("CacheProxy:Routes:all:Key:Cookies:0 must be a cookie name (was 'has space')", error.Message, StringComparison.Ordinal);
    }
}
