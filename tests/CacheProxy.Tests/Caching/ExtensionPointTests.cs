using CacheProxy.Caching;
using CacheProxy.Gateway.Extensibility;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// The extension points users register in DI — cache policies, key customizers, tag providers, stores — through the
/// examples of samples/CacheProxy.Gateway/Extensibility, which docs/extensibility.md quotes.
/// </summary>
public sealed class ExtensionPointTests
{
    private static Func<HttpContext, Task> Cacheable(string cacheControl = "max-age=60") => c =>
    {
        c.Response.Headers.CacheControl = cacheControl;
        c.Response.Headers.ETag = "\"e\"";
        if (c.Request.Headers.IfNoneMatch == "\"e\"")
        {
            c.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        return c.Response.WriteAsync("body of " + c.Request.Path + c.Request.QueryString);
    };

    private static Task<ProxyFixture> StartAsync(Action<IServiceCollection> register, Func<RouteConfig, RouteConfig>? route = null) =>
        ProxyFixture.StartAsync(features: b => register(b.Services), route: route);

    private static void Policy(IServiceCollection services, ICachePolicy policy) =>
        services.TryAddEnumerable(ServiceDescriptor.Singleton(policy));

    [Fact]
    public async Task Policy_OnRequest_CanBypassTheCache()
    {
        await using var proxy = await StartAsync(s => Policy(s, new BypassPreviews()));
        proxy.Origin.Handler = Cacheable();
        await proxy.GetAsync("/p");

        var preview = await proxy.GetAsync("/p", ("X-Preview", "1"));
        var plain = await proxy.GetAsync("/p");

        Assert.Equal("CacheProxy; fwd=bypass; detail=policy", preview.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", plain.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task Policy_OnServeFromCache_CanRequireRevalidation_OnTheFastPathToo()
    {
        await using var proxy = await StartAsync(s => Policy(s, new RevalidateOlderThan("all", TimeSpan.FromSeconds(5))));
        proxy.Origin.Handler = Cacheable();
        await proxy.GetAsync("/r");
        proxy.Time.Advance(TimeSpan.FromSeconds(3));
        var young = await proxy.GetAsync("/r");
        proxy.Time.Advance(TimeSpan.FromSeconds(7)); // still fresh for RFC 9111: max-age=60

        var old = await proxy.GetAsync("/r");

        Assert.StartsWith("CacheProxy; hit", young.CacheStatus());
        Assert.Contains("fwd=stale; fwd-status=304", old.CacheStatus());
        Assert.Equal("body of /r", await old.Content.ReadAsStringAsync());
        Assert.Equal("\"e\"", proxy.Origin.Seen.Last().Headers["If-None-Match"]); // validated with the stored validator
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task Policy_OnResponse_CanRefuseStorage_OrSetTheFreshness()
    {
        await using var proxy = await StartAsync(s => Policy(s, new FreshnessByContentType()));
        proxy.Origin.Handler = c =>
        {
            c.Response.ContentType = c.Request.Path == "/page" ? "text/html" : "image/png";
            c.Response.Headers.CacheControl = c.Request.Path == "/page" ? "max-age=60" : null; // the image: no freshness
            return c.Response.WriteAsync("x");
        };

        await proxy.GetAsync("/page");
        var page = await proxy.GetAsync("/page");
        await proxy.GetAsync("/logo");
        proxy.Time.Advance(TimeSpan.FromMinutes(59));
        var logo = await proxy.GetAsync("/logo");
        proxy.Time.Advance(TimeSpan.FromMinutes(2));
        var expired = await proxy.GetAsync("/logo");

        Assert.DoesNotContain("stored", page.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", logo.CacheStatus());
        Assert.Contains("fwd=", expired.CacheStatus());
        Assert.Equal(4, proxy.Origin.Calls);
    }

    [Fact]
    public async Task Policies_RunAfterTheRouteSettings_WhichAreAPolicyToo()
    {
        var seen = new List<bool>();
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new() { Enabled = false },
            features: b => Policy(b.Services, new RecordingPolicy(seen)));
        proxy.Origin.Handler = Cacheable();

        var response = await proxy.GetAsync("/x");

        Assert.Equal([false], seen); // the built-in policy had already turned caching off
        Assert.Contains("fwd=bypass", response.CacheStatus());
    }

    private sealed class RecordingPolicy(List<bool> seen) : ICachePolicy
    {
        public ValueTask OnRequestAsync(CacheContext context, CancellationToken cancellationToken)
        {
            seen.Add(context.EnableCaching);
            return default;
        }
    }

    [Fact]
    public async Task KeyCustomizer_IgnoringTrackingParameters_SharesOneEntry_AndStillForwardsThem()
    {
        await using var proxy = await StartAsync(s => s.TryAddEnumerable(ServiceDescriptor.Singleton<ICacheKeyCustomizer, IgnoreTrackingParameters>()));
        proxy.Origin.Handler = Cacheable();

        await proxy.GetAsync("/a?utm_source=mail&id=1");
        var second = await proxy.GetAsync("/a?id=1&utm_medium=x&gclid=g");
        var other = await proxy.GetAsync("/a?id=2");

        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.Contains("fwd=miss", other.CacheStatus());
        Assert.Equal(["/a?utm_source=mail&id=1", "/a?id=2"], proxy.Origin.Seen.Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task KeyCustomizer_AppliesToInvalidation()
    {
        await using var proxy = await StartAsync(s => s.TryAddEnumerable(ServiceDescriptor.Singleton<ICacheKeyCustomizer, IgnoreTrackingParameters>()));
        proxy.Origin.Handler = Cacheable();
        await proxy.GetAsync("/a?id=1");

        await proxy.Client.PostAsync("/a?id=1&utm_campaign=c", new StringContent("change"));
        var after = await proxy.GetAsync("/a?id=1");

        Assert.Contains("fwd=miss", after.CacheStatus());
    }

    [Fact]
    public async Task KeyCustomizer_AddingAHeader_SeparatesEntries()
    {
        await using var proxy = await StartAsync(s => s.TryAddEnumerable(ServiceDescriptor.Singleton<ICacheKeyCustomizer>(new KeyByHeader("X-Tenant"))));
        proxy.Origin.Handler = Cacheable();

        await proxy.GetAsync("/t", ("X-Tenant", "a"));
        var otherTenant = await proxy.GetAsync("/t", ("X-Tenant", "b"));
        var sameTenant = await proxy.GetAsync("/t", ("X-Tenant", "a"));
        var noTenant = await proxy.GetAsync("/t");

        Assert.Contains("fwd=miss", otherTenant.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", sameTenant.CacheStatus());
        Assert.Contains("fwd=miss", noTenant.CacheStatus());
        Assert.Equal(3, proxy.Origin.Calls);
    }

    /// <summary>A third-party store: every call counted, the memory tier behind it, no synchronous reads.</summary>
    private sealed class CountingStore(ICacheStore inner) : ICacheStore
    {
        public List<CacheEntry> Written { get; } = [];

        public int Reads;

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Reads);
            return inner.GetAsync(key, cancellationToken);
        }

        public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            lock (Written)
            {
                Written.Add(entry);
            }
            return inner.SetAsync(key, entry, timeToLive, cancellationToken);
        }

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }

    [Fact]
    public async Task TagProviders_TagTheStoredEntry_AndADecoratedStoreWorks_WithoutTheSynchronousPath()
    {
        CountingStore? store = null;
        await using var proxy = await StartAsync(s =>
            {
                s.TryAddEnumerable(ServiceDescriptor.Singleton<ITagProvider>(new RouteTags("id")));
                s.AddSingleton<ICacheStore>(sp => store = new CountingStore(sp.GetRequiredService<MemoryCacheStore>()));
            },
            route: r => r with { Match = new RouteMatch { Path = "/products/{id}" } });
        proxy.Origin.Handler = Cacheable();

        await proxy.GetAsync("/products/7");
        await proxy.WaitForLogAsync("ResponseStored");
        var hit = await proxy.GetAsync("/products/7");

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal(["id:7", "route:all"], Assert.Single(store!.Written).Tags.Order(StringComparer.Ordinal));
        Assert.Equal(2, store.Reads); // the miss and the hit both read through GetAsync
    }

    /// <summary>Every phase yields before it decides: the engine must wait for each, on the fresh-hit paths too.</summary>
    private sealed class AwaitingPolicy : ICachePolicy
    {
        public async ValueTask OnRequestAsync(CacheContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            context.EnableCaching = !context.HttpContext.Request.Headers.ContainsKey("X-Bypass");
        }

        public async ValueTask OnServeFromCacheAsync(CacheContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            context.RequireRevalidation = context.HttpContext.Request.Headers.ContainsKey("X-Revalidate");
        }

        public async ValueTask OnResponseAsync(CacheContext context, CancellationToken cancellationToken)
        {
            await Task.Yield();
            context.FreshnessLifetime = TimeSpan.FromHours(1); // the origin gives none: stored only through this
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Policies_ThatAwait_AreWaitedFor_InEveryPhase(bool serveHitsBeforeRouting)
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.ServeHitsBeforeRouting = serveHitsBeforeRouting,
            features: b => Policy(b.Services, new AwaitingPolicy()));
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.ETag = "\"e\"";
            c.Response.Headers.LastModified = "Mon, 01 Jan 2024 00:00:00 GMT";
            if (c.Request.Headers.IfNoneMatch == "\"e\"")
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            c.Response.Headers.CacheControl = "no-transform"; // no freshness of its own
            return c.Response.WriteAsync("body");
        };

        var miss = await proxy.GetAsync("/a");
        var hit = await proxy.GetAsync("/a");
        var hitAgain = await proxy.GetAsync("/a"); // before routing too, when on: the first hit stamped the entry
        var revalidated = await proxy.GetAsync("/a", ("X-Revalidate", "1"));
        var bypassed = await proxy.GetAsync("/a", ("X-Bypass", "1"));

        Assert.Contains("fwd=miss; fwd-status=200; stored", miss.CacheStatus());
        Assert.Equal("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal("CacheProxy; hit", hitAgain.CacheStatus());
        Assert.Equal("body", await hitAgain.Content.ReadAsStringAsync());
        Assert.Contains("fwd=stale; fwd-status=304", revalidated.CacheStatus());
        Assert.Equal("body", await revalidated.Content.ReadAsStringAsync());
        Assert.Equal("CacheProxy; fwd=bypass; detail=policy", bypassed.CacheStatus());
        Assert.Equal(3, proxy.Origin.Calls);
    }
}
