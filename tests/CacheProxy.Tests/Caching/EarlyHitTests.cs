using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// CacheProxyOptions.ServeHitsBeforeRouting: which hits skip routing and the middleware before UseCacheProxy(),
/// seen by a middleware placed there that counts the requests it sees.
/// </summary>
public sealed class EarlyHitTests
{
    private sealed class Counter
    {
        public int Seen;
    }

    private static async Task<(ProxyFixture Proxy, Counter Between)> StartAsync(bool on, Func<RouteConfig, RouteConfig>? route = null,
        Action<IServiceCollection>? services = null)
    {
        var between = new Counter();
        var proxy = await ProxyFixture.StartAsync(
            o => o.ServeHitsBeforeRouting = on,
            earlyPipeline: app => app.Use((context, next) =>
            {
                Interlocked.Increment(ref between.Seen);
                return next(context);
            }),
            features: b => services?.Invoke(b.Services),
            route: route);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("cached body");
        };
        return (proxy, between);
    }

    /// <summary>Four GETs of one cacheable URL: one miss and three hits, every one seen after routing.</summary>
    private static async Task AssertEveryGetIsRoutedAsync(ProxyFixture proxy, Counter between)
    {
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await proxy.GetAsync("/e")).StatusCode);
        }

        Assert.Equal(4, between.Seen);
        Assert.Single(proxy.Origin.Seen);
    }

    [Fact]
    public async Task Off_EveryHitPassesRoutingAndTheMiddlewareBeforeTheCache()
    {
        var (proxy, between) = await StartAsync(on: false);
        await using var _ = proxy;

        await AssertEveryGetIsRoutedAsync(proxy, between);
    }

    [Fact]
    public async Task On_HitsAfterTheFirstRoutedHit_AreAnsweredBeforeRouting_WithTheSameResponse()
    {
        var (proxy, between) = await StartAsync(on: true);
        await using var _ = proxy;

        var miss = await proxy.GetAsync("/e");
        var routedHit = await proxy.GetAsync("/e");   // routed: stamps the entry with its route
        var earlyHit = await proxy.GetAsync("/e");    // before routing
        using var head = new HttpRequestMessage(HttpMethod.Head, "/e");
        var headHit = await proxy.Client.SendAsync(head); // HEAD is always routed

        Assert.Contains("fwd=miss", miss.CacheStatus());
        Assert.Equal(3, between.Seen);
        Assert.Equal("CacheProxy; hit", routedHit.CacheStatus());
        Assert.Equal("CacheProxy; hit", earlyHit.CacheStatus());
        Assert.Equal("CacheProxy; hit", headHit.CacheStatus());
        Assert.Equal("cached body", await earlyHit.Content.ReadAsStringAsync());
        Assert.Equal("0", earlyHit.Header("Age"));
        Assert.Equal("max-age=60", earlyHit.Header("Cache-Control"));
        Assert.Matches("^[0-9a-f]{32}$", earlyHit.Header("X-Request-ID"));
        Assert.NotEqual(routedHit.Header("X-Request-ID"), earlyHit.Header("X-Request-ID"));
        Assert.Single(proxy.Origin.Seen);
    }

    [Fact]
    public async Task On_AStaleEntry_IsRevalidatedThroughRouting()
    {
        var (proxy, between) = await StartAsync(on: true);
        await using var _ = proxy;
        await proxy.GetAsync("/e");
        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(61));

        var stale = await proxy.GetAsync("/e");

        Assert.Equal(3, between.Seen);
        Assert.Contains("fwd=stale", stale.CacheStatus());
        Assert.Equal(2, proxy.Origin.Seen.Count);
    }

    [Fact]
    public async Task On_ARouteWithAnAuthorizationPolicy_IsAlwaysRouted()
    {
        var (proxy, between) = await StartAsync(on: true, route: r => r with { AuthorizationPolicy = "open" },
            services: s => s.AddAuthorizationBuilder().AddPolicy("open", p => p.RequireAssertion(_ => true)));
        await using var _ = proxy;

        await AssertEveryGetIsRoutedAsync(proxy, between);
    }

    [Fact]
    public async Task On_AFallbackAuthorizationPolicy_KeepsEveryHitRouted()
    {
        var (proxy, between) = await StartAsync(on: true,
            services: s => s.AddAuthorizationBuilder().SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder()
                .RequireAssertion(_ => true).Build()));
        await using var _ = proxy;

        await AssertEveryGetIsRoutedAsync(proxy, between);
    }

    [Fact]
    public async Task On_ARouteThatMatchesOnHeaders_KeepsEveryHitRouted()
    {
        var (proxy, between) = await StartAsync(on: true, route: r => r with
        {
            Match = r.Match with { Headers = [new RouteHeader { Name = "X-Tenant", Mode = HeaderMatchMode.NotExists }] },
        });
        await using var _ = proxy;

        await AssertEveryGetIsRoutedAsync(proxy, between);
    }

    [Fact]
    public async Task On_AChangeOfTheEndpoints_RoutesTheNextHit_ThenItIsStampedAgain()
    {
        var (proxy, between) = await StartAsync(on: true);
        await using var _ = proxy;
        await proxy.GetAsync("/e");
        await proxy.GetAsync("/e");
        await proxy.GetAsync("/e");
        Assert.Equal(2, between.Seen);

        // A configuration reload that changes the route (YARP keeps the endpoints of an unchanged one).
        var endpoints = proxy.Services.GetRequiredService<EndpointDataSource>();
        var changed = endpoints.GetChangeToken();
        var config = proxy.Services.GetRequiredService<InMemoryConfigProvider>();
        config.Update([ProxyFixture.Route(r => r with { Metadata = new Dictionary<string, string> { ["version"] = "2" } })], config.GetConfig().Clusters);
        await Signal.WaitUntilAsync(() => changed.HasChanged);

        await proxy.GetAsync("/e"); // routed: the stamp is from the old endpoints
        await proxy.GetAsync("/e"); // before routing again

        Assert.Equal(3, between.Seen);
        Assert.Single(proxy.Origin.Seen);
    }
}
