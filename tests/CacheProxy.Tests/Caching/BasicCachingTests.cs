using System.Net;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Caching;

public sealed class BasicCachingTests
{
    [Fact]
    public async Task SecondGet_IsServedFromCache_WhenMaxAgeAllows()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("hello");
        };

        var first = await proxy.GetAsync("/a");
        var second = await proxy.GetAsync("/a");

        Assert.Equal("hello", await second.Content.ReadAsStringAsync());
        Assert.Equal(1, proxy.Origin.Calls);
        Assert.Contains("fwd=miss", first.CacheStatus());
        Assert.Contains("stored", first.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.NotNull(second.Headers.Age);
    }

    [Fact]
    public async Task ResponseWithoutFreshness_IsNotReused()
    {
        await using var proxy = await ProxyFixture.StartAsync();

        await proxy.GetAsync("/plain");
        var second = await proxy.GetAsync("/plain");

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, proxy.Origin.Calls);
    }
}
