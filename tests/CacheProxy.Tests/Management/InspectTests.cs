using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Management;

/// <summary><c>GET /inspect</c>: why a URL is or is not a hit, answered from what is stored.</summary>
public sealed class InspectTests
{
    private static Task<ProxyFixture> StartAsync() =>
        ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true);

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> InspectAsync(ProxyFixture proxy, string url, params string[] headers)
    {
        var query = "url=" + Uri.EscapeDataString(url) + string.Concat(headers.Select(h => "&header=" + Uri.EscapeDataString(h)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/inspect?" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        var response = await proxy.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static string Url(ProxyFixture proxy, string path) => new Uri(proxy.Client.BaseAddress!, path).ToString();

    [Fact]
    public async Task AStoredResponse_IsExplained_LifetimeSourceValidatorsTagsAndTier()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600, stale-while-revalidate=30";
            c.Response.Headers.ETag = "\"v7\"";
            c.Response.Headers["Surrogate-Key"] = "article:42 news";
            return c.Response.WriteAsync("twelve bytes");
        };
        await proxy.GetAsync("/article");
        proxy.Time.Advance(TimeSpan.FromSeconds(100));

        var (status, body) = await InspectAsync(proxy, Url(proxy, "/article"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("stored").GetBoolean());
        Assert.Equal("memory", body.GetProperty("tier").GetString());
        Assert.Equal(200, body.GetProperty("status").GetInt32());
        Assert.Equal(12, body.GetProperty("bytes").GetInt64());
        Assert.Equal(600, body.GetProperty("lifetimeSeconds").GetInt64());
        Assert.Equal("max-age (Cache-Control)", body.GetProperty("lifetimeFrom").GetString());
        Assert.InRange(body.GetProperty("ageSeconds").GetInt64(), 100, 101);
        Assert.True(body.GetProperty("fresh").GetBoolean());
        Assert.Equal(30, body.GetProperty("staleWhileRevalidateSeconds").GetInt64());
        Assert.Equal("\"v7\"", body.GetProperty("etag").GetString());
        Assert.Equal(["article:42", "news"], body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order());
        Assert.Equal(1, proxy.Origin.Calls); // looking fetched nothing
    }

    [Fact]
    public async Task AResponseThatWasNotStored_SaysWhy()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = c.Request.Path == "/secret" ? "private, max-age=60" : "max-age=60";
            c.Response.Headers.SetCookie = c.Request.Path == "/login" ? "session=abc" : default;
            return c.Response.WriteAsync("x");
        };
        await proxy.GetAsync("/secret");
        await proxy.GetAsync("/login");

        var secret = (await InspectAsync(proxy, Url(proxy, "/secret"))).Body;
        var login = (await InspectAsync(proxy, Url(proxy, "/login"))).Body;
        var never = (await InspectAsync(proxy, Url(proxy, "/never-asked"))).Body;

        Assert.False(secret.GetProperty("stored").GetBoolean());
        Assert.Equal("private", secret.GetProperty("lastNotStored").GetProperty("reason").GetString());
        Assert.Equal("set-cookie", login.GetProperty("lastNotStored").GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, never.GetProperty("lastNotStored").ValueKind);
    }

    [Fact]
    public async Task UnderAVaryRule_TheRequestFieldsGivenSelectTheVariant()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.Headers.Vary = "Accept-Language";
            return c.Response.WriteAsync("in " + c.Request.Headers.AcceptLanguage);
        };
        await proxy.GetAsync("/lang", ("Accept-Language", "de"));

        var de = (await InspectAsync(proxy, Url(proxy, "/lang"), "Accept-Language: de")).Body;
        var fr = (await InspectAsync(proxy, Url(proxy, "/lang"), "Accept-Language: fr")).Body;
        var bad = await InspectAsync(proxy, "/relative");

        Assert.True(de.GetProperty("stored").GetBoolean());
        Assert.Equal(["accept-language"], de.GetProperty("vary").GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("accept-language: de", de.GetProperty("vary").GetProperty("selected").GetString()); // no key internals (control characters, generation)
        Assert.False(fr.GetProperty("stored").GetBoolean());
        Assert.Equal(1, fr.GetProperty("vary").GetProperty("variants").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
    }

    [Fact]
    public async Task TheLifetimeSource_NamesTheFieldThatGoverns()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            if (c.Request.Path == "/cdn")
            {
                c.Response.Headers["CDN-Cache-Control"] = "max-age=900";
            }
            return c.Response.WriteAsync("x");
        };
        await proxy.GetAsync("/cdn");
        await proxy.GetAsync("/plain");

        var cdn = (await InspectAsync(proxy, Url(proxy, "/cdn"))).Body;
        var plain = (await InspectAsync(proxy, Url(proxy, "/plain"))).Body;

        Assert.Equal(("max-age (CDN-Cache-Control)", 900), (cdn.GetProperty("lifetimeFrom").GetString(), cdn.GetProperty("lifetimeSeconds").GetInt64()));
        Assert.Equal(("max-age (Cache-Control)", 60), (plain.GetProperty("lifetimeFrom").GetString(), plain.GetProperty("lifetimeSeconds").GetInt64()));
    }
}
