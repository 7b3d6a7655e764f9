using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Cdn;

/// <summary>What the gateway tells the CDN in front: its own targeted field obeyed and consumed, the others passed on, tags and a route's targeted fields written.</summary>
public sealed class DownstreamTests
{
    private static string[] Tags(HttpResponseMessage response, string name, char separator) =>
        response.Headers.TryGetValues(name, out var values) ? [.. values.SelectMany(v => v.Split(separator)).Order(StringComparer.Ordinal)] : [];

    [Fact]
    public async Task TheGatewaysOwnField_GovernsOverCdnCacheControlAndCacheControl_IsConsumed_AndTheOthersPassOnUntouched()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=5";
            c.Response.Headers["CDN-Cache-Control"] = "max-age=3600";
            c.Response.Headers["CacheProxy-Cache-Control"] = "max-age=60";
            return c.Response.WriteAsync("v");
        };

        var miss = await proxy.GetAsync("/own");
        await proxy.WaitForLogAsync("ResponseStored");
        proxy.Time.Advance(TimeSpan.FromSeconds(30)); // stale by Cache-Control, fresh by the own field
        var hit = await proxy.GetAsync("/own");
        proxy.Time.Advance(TimeSpan.FromSeconds(31)); // stale by the own field, fresh by CDN-Cache-Control
        var after = await proxy.GetAsync("/own");

        Assert.Contains("fwd=miss", miss.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Contains("fwd=stale", after.CacheStatus());
        foreach (var response in new[] { miss, hit })
        {
            Assert.False(response.Headers.Contains("CacheProxy-Cache-Control"));
            Assert.Equal("max-age=3600", Assert.Single(response.Headers.GetValues("CDN-Cache-Control")));
            Assert.Equal("max-age=5", response.Headers.CacheControl!.ToString());
        }
    }

    [Theory]
    [InlineData("CacheProxy-Cache-Control")]
    [InlineData("CDN-Cache-Control")]
    public async Task ATargetedField_ReplacesCacheControl_PrivateIncluded_Rfc9213(string field)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "private";
            c.Response.Headers[field] = "max-age=60";
            return c.Response.WriteAsync("v");
        };

        await proxy.GetAsync("/shared-here");
        await proxy.WaitForLogAsync("ResponseStored");
        var second = await proxy.GetAsync("/shared-here");

        Assert.StartsWith("CacheProxy; hit", second.CacheStatus()); // docs/security.md says so
        Assert.Equal("private", second.Headers.CacheControl!.ToString()); // browsers still get the origin's word
    }

    [Theory]
    [InlineData("Surrogate-Key", ' ')]
    [InlineData("Cache-Tag", ',')]
    public async Task ARoutesTags_AreWrittenForTheCdn_OnAMissAHitAndAResponseNotStored(string field, char separator)
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new() { Cdn = { TagHeader = field } });
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = c.Request.Path == "/private" ? "no-store" : "max-age=60";
            c.Response.Headers["Surrogate-Key"] = "product:1 list";
            c.Response.Headers["Cache-Tag"] = "lang:en";
            return c.Response.WriteAsync("v");
        };

        var miss = await proxy.GetAsync("/tagged");
        await proxy.WaitForLogAsync("ResponseStored");
        var hit = await proxy.GetAsync("/tagged");
        var notStored = await proxy.GetAsync("/private");
        var bypass = await proxy.GetAsync("/tagged", ("Cache-Control", "no-store"));

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        foreach (var response in new[] { miss, hit, notStored })
        {
            Assert.Equal(["lang:en", "list", "product:1"], Tags(response, field, separator));
            Assert.Single(response.Headers.GetValues(field));
        }
        Assert.Equal(["lang:en", "list", "product:1"], Tags(bypass, field, separator).Select(t => t.Trim()));
        var other = field == "Surrogate-Key" ? "Cache-Tag" : "Surrogate-Key";
        Assert.False(miss.Headers.Contains(other)); // the origin's fields are consumed as before
    }

    [Fact]
    public async Task TagsGoOnlyToTheCdnsNetworks_WhenThoseAreSet()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Cdn.TagHeader = "Surrogate-Key";
            o.Cdn.TagHeaderNetworks.Add("10.0.0.0/8");
        });
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.Headers["Surrogate-Key"] = "a";
            return c.Response.WriteAsync("v");
        };
        var server = (TestServer)proxy.Services.GetRequiredService<IServer>();
        async Task<HttpContext> FromAsync(string address) => await server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/n";
            c.Connection.RemoteIpAddress = IPAddress.Parse(address);
        });

        var cdn = await FromAsync("10.1.2.3");
        await proxy.WaitForLogAsync("ResponseStored");
        var browser = await FromAsync("192.0.2.7");
        var cdnHit = await FromAsync("10.9.9.9");

        Assert.Equal("a", cdn.Response.Headers["Surrogate-Key"].ToString());
        Assert.False(browser.Response.Headers.ContainsKey("Surrogate-Key"));
        Assert.Equal("a", cdnHit.Response.Headers["Surrogate-Key"].ToString());
        Assert.StartsWith("CacheProxy; hit", browser.Response.Headers["Cache-Status"].ToString());
    }

    [Fact]
    public async Task ARouteSetsWhatTheCdnKeeps_ApartFromWhatTheOriginToldTheGateway()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new()
        {
            Cdn = { CdnCacheControl = "max-age=86400, stale-while-revalidate=60", SurrogateControl = "max-age=3600" },
        });
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers["CDN-Cache-Control"] = "max-age=5";
            return c.Response.WriteAsync("v");
        };

        var miss = await proxy.GetAsync("/page");
        await proxy.WaitForLogAsync("ResponseStored");
        var hit = await proxy.GetAsync("/page");
        proxy.Time.Advance(TimeSpan.FromSeconds(6));
        var stale = await proxy.GetAsync("/page");

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Contains("fwd=stale", stale.CacheStatus()); // the gateway obeys the origin's CDN-Cache-Control (5 s)
        foreach (var response in new[] { miss, hit, stale })
        {
            Assert.Equal("max-age=86400, stale-while-revalidate=60", Assert.Single(response.Headers.GetValues("CDN-Cache-Control")));
            Assert.Equal("max-age=3600", Assert.Single(response.Headers.GetValues("Surrogate-Control")));
            Assert.Equal("max-age=600", response.Headers.CacheControl!.ToString()); // browsers get the origin's
        }
    }
}
