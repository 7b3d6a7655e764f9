using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>
/// Request fields the key ignores cannot poison an entry: removed before forwarding by default, or keyed on, or
/// bypassing the cache, as a route chooses.
/// </summary>
public sealed class UnkeyedHeadersTests
{
    /// <summary>
    /// An origin that acts on a forwarding field, as frameworks do: it redirects to https when told the scheme was http.
    /// It reads fields as CGI and PHP do, underscores and hyphens alike (HTTP_X_FORWARDED_SCHEME).
    /// </summary>
    private static void SchemeAwareOrigin(ProxyFixture proxy) => proxy.Origin.Handler = c =>
    {
        c.Response.Headers.CacheControl = "max-age=60";
        var scheme = c.Request.Headers.FirstOrDefault(h => h.Key.Replace('_', '-').Equals("X-Forwarded-Scheme", StringComparison.OrdinalIgnoreCase)).Value;
        if (scheme == "http")
        {
            c.Response.StatusCode = StatusCodes.Status301MovedPermanently;
            c.Response.Headers.Location = "https://gateway" + c.Request.Path; // cacheable, and a loop for everyone
            return Task.CompletedTask;
        }
        return c.Response.WriteAsync("page");
    };

    /// <summary>A gateway whose route keys on X-Forwarded-Scheme, hits before routing on, the origin scheme-aware.</summary>
    private static async Task<ProxyFixture> KeyedOnTheSchemeAsync(bool dropUnderscoreHeaders = true)
    {
        var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.DropUnderscoreHeaders = dropUnderscoreHeaders;
            o.ServeHitsBeforeRouting = true; // the fast path must not answer a request that carries the field either
            o.Routes["all"] = new RouteCacheOptions();
            o.Routes["all"].UnkeyedRequestHeaders["X-Forwarded-Scheme"] = UnkeyedHeaderAction.Key;
        });
        SchemeAwareOrigin(proxy);
        return proxy;
    }

    [Theory]
    [InlineData("X-Forwarded-Scheme", "http")]
    [InlineData("X-Original-URL", "/admin")]
    [InlineData("X-HTTP-Method-Override", "DELETE")]
    [InlineData("Forwarded", "proto=http")]
    public async Task ByDefault_AListedField_IsRemovedBeforeForwarding_CountedAndLogged(string header, string value)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        SchemeAwareOrigin(proxy);
        using var counted = proxy.Collect<long>("cacheproxy.unkeyed_headers");

        var attacker = await proxy.GetAsync("/p", (header, value));
        var victim = await proxy.GetAsync("/p");

        Assert.DoesNotContain(proxy.Origin.Seen, r => r.Headers.ContainsKey(header));
        Assert.Equal("page", await attacker.Content.ReadAsStringAsync());
        Assert.Equal("page", await victim.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", victim.CacheStatus(), StringComparison.Ordinal);
        var measurement = Assert.Single(counted.GetMeasurementSnapshot());
        Assert.Equal(header.ToLowerInvariant(), measurement.Tags["header"]);
        Assert.Equal("remove", measurement.Tags["action"]);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UnkeyedHeader" && r.Message.Contains(header, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ByDefault_AFieldSpelledWithUnderscores_IsRemovedBeforeForwarding()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        SchemeAwareOrigin(proxy);
        using var counted = proxy.Collect<long>("cacheproxy.unkeyed_headers");

        var attacker = await proxy.GetAsync("/p", ("X_Forwarded_Scheme", "http"));
        var victim = await proxy.GetAsync("/p");

        Assert.DoesNotContain(proxy.Origin.Seen, r => r.Headers.Keys.Any(k => k.Contains('_')));
        Assert.Equal("page", await attacker.Content.ReadAsStringAsync());
        Assert.Equal("page", await victim.Content.ReadAsStringAsync());
        var measurement = Assert.Single(counted.GetMeasurementSnapshot());
        Assert.Equal(("(underscore)", "remove"), (measurement.Tags["header"], measurement.Tags["action"]));
    }

    [Fact]
    public async Task WithUnderscoresKept_AListedFieldInTheirSpelling_GetsItsAction()
    {
        await using var proxy = await KeyedOnTheSchemeAsync(dropUnderscoreHeaders: false);

        var clean = await proxy.GetAsync("/p");
        await proxy.GetAsync("/p"); // a routed hit, stamped for the fast path
        var http = await proxy.GetAsync("/p", ("X_Forwarded_Scheme", "http"));
        var removed = await proxy.GetAsync("/q", ("X_Original_URL", "/admin"), ("Other_Field", "kept"));
        var cleanAgain = await proxy.GetAsync("/p");

        Assert.Equal("page", await clean.Content.ReadAsStringAsync());
        Assert.Equal(301, (int)http.StatusCode); // keyed apart: its own entry, from the origin
        Assert.Equal("page", await cleanAgain.Content.ReadAsStringAsync());
        Assert.Equal("page", await removed.Content.ReadAsStringAsync());
        var forwarded = proxy.Origin.Seen.Single(r => r.PathAndQuery == "/q");
        Assert.False(forwarded.Headers.ContainsKey("X_Original_URL"));
        Assert.True(forwarded.Headers.ContainsKey("Other_Field"));
    }

    [Fact]
    public async Task ARouteThatKeysOnAField_StoresEachValueApart_AndNeverServesOneForAnother()
    {
        await using var proxy = await KeyedOnTheSchemeAsync();

        var clean = await proxy.GetAsync("/p");
        await proxy.GetAsync("/p"); // a routed hit, stamped for the fast path
        var http = await proxy.GetAsync("/p", ("X-Forwarded-Scheme", "http"));
        var httpAgain = await proxy.GetAsync("/p", ("X-Forwarded-Scheme", "http"));
        var cleanAgain = await proxy.GetAsync("/p");

        Assert.Equal("page", await clean.Content.ReadAsStringAsync());
        Assert.Equal(301, (int)http.StatusCode); // its own entry, from the origin
        Assert.Equal(301, (int)httpAgain.StatusCode);
        Assert.StartsWith("CacheProxy; hit", httpAgain.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("page", await cleanAgain.Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ARouteThatBypassesOnAField_ForwardsIt_AndNeitherReadsNorStores()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Routes["all"] = new RouteCacheOptions();
            o.Routes["all"].UnkeyedRequestHeaders["X-Forwarded-Scheme"] = UnkeyedHeaderAction.Bypass;
        });
        SchemeAwareOrigin(proxy);
        await proxy.GetAsync("/p"); // stored

        var bypassed = await proxy.GetAsync("/p", ("X-Forwarded-Scheme", "http"));
        var clean = await proxy.GetAsync("/p");

        Assert.Equal(301, (int)bypassed.StatusCode);
        Assert.Contains("fwd=bypass", bypassed.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("page", await clean.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", clean.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task AFieldSetToForward_ReachesTheOrigin_AsBeforeTheList()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.UnkeyedRequestHeaders["X-Forwarded-Port"] = UnkeyedHeaderAction.Forward);

        await proxy.GetAsync("/p", ("X-Forwarded-Port", "8443"), ("X-Forwarded-Server", "evil"));

        var seen = Assert.Single(proxy.Origin.Seen);
        Assert.Equal("8443", seen.Headers["X-Forwarded-Port"]);
        Assert.False(seen.Headers.ContainsKey("X-Forwarded-Server"));
    }
}
