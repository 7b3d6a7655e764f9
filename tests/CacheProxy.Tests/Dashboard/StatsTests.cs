using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CacheProxy.Dashboard;
using CacheProxy.Management;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Dashboard;

/// <summary><c>GET /stats</c> and the dashboard's page and event stream, over the real middleware and a real origin.</summary>
public sealed class StatsTests
{
    private static readonly string Body = new('x', 1000);

    private static async Task<ProxyFixture> StartAsync()
    {
        var proxy = await ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = c.Request.Path.StartsWithSegments("/private") ? "private" : "max-age=600";
            return c.Response.WriteAsync(Body);
        };
        return proxy;
    }

    private static async Task<HttpResponseMessage> SendAsync(ProxyFixture proxy, HttpMethod method, string path, AuthenticationHeaderValue? auth, object? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : JsonContent.Create(json) };
        request.Headers.Authorization = auth;
        return await proxy.Client.SendAsync(request);
    }

    private static readonly AuthenticationHeaderValue Bearer = new("Bearer", PurgeTests.Key);

    private static async Task<JsonElement> StatsAsync(ProxyFixture proxy, string query = "")
    {
        var response = await SendAsync(proxy, HttpMethod.Get, "/stats" + query, Bearer);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Stats_CountTheWindow_RatesHitRatioBytesAndOriginLatency_AndTotalsOutliveIt()
    {
        await using var proxy = await StartAsync();
        await proxy.GetAsync("/a");
        await proxy.WaitForLogAsync("ResponseStored");
        await proxy.GetAsync("/a");
        await proxy.GetAsync("/a");
        await proxy.GetAsync("/private");
        proxy.Time.Advance(TimeSpan.FromSeconds(4));

        var now = await StatsAsync(proxy);
        var all = now.GetProperty("all");
        Assert.Equal(4, all.GetProperty("requests").GetInt64());
        Assert.Equal(2, all.GetProperty("hits").GetInt64());
        Assert.Equal(2, all.GetProperty("misses").GetInt64());
        Assert.Equal(0.5, all.GetProperty("hitRatio").GetDouble());
        Assert.Equal(4, now.GetProperty("windowSeconds").GetDouble());
        Assert.Equal(1.0, all.GetProperty("requestsPerSecond").GetDouble());
        Assert.Equal(2000, all.GetProperty("servedBytes").GetInt64());
        Assert.Equal(2000, all.GetProperty("fetchedBytes").GetInt64());
        Assert.Equal(0.5, all.GetProperty("byteOffload").GetDouble());
        Assert.Equal(JsonValueKind.Number, all.GetProperty("originP99Ms").ValueKind);
        var route = Assert.Single(now.GetProperty("routes").EnumerateArray());
        Assert.Equal("all", route.GetProperty("route").GetString());
        Assert.Equal(4, route.GetProperty("figures").GetProperty("requests").GetInt64());
        Assert.True(now.GetProperty("memory").GetProperty("entries").GetInt64() >= 1);
        Assert.Equal(JsonValueKind.Null, now.GetProperty("redis").ValueKind);

        for (var second = 0; second < 30; second++)
        {
            proxy.Time.Advance(TimeSpan.FromSeconds(1)); // a sample each second, as the clock runs
        }
        var later = await StatsAsync(proxy, "?window=10");
        Assert.Equal(10, later.GetProperty("windowSeconds").GetDouble());
        Assert.Equal(0, later.GetProperty("all").GetProperty("requests").GetInt64());
        Assert.Equal(JsonValueKind.Null, later.GetProperty("all").GetProperty("hitRatio").ValueKind);
        Assert.Equal(JsonValueKind.Null, later.GetProperty("all").GetProperty("originP50Ms").ValueKind);
        Assert.Equal(4, later.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(2000, later.GetProperty("totals").GetProperty("servedBytes").GetInt64());
    }

    // The memory tier's own figures: its hit ratio over the window, the new entries admission kept out (a scan of 50
    // objects of 20 kB in a 1 MiB tier full of ones asked for three times), and a refresh ahead started by a hit near
    // an entry's expiry.
    [Fact]
    public async Task Stats_ShowTheMemoryTiersHitRatio_AdmissionsKeptOut_AndRefreshesAhead()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            o.MemoryTierSizeLimit = 1 << 20;
            o.MaxObjectSize = 400_000;
            o.RefreshAhead.Enabled = true;
            o.RefreshAhead.MinHits = 1;
        }, mapManagement: true);
        var object20k = new string('x', 20_000);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ETag = "\"1\"";
            return c.Response.WriteAsync(c.Request.Path.StartsWithSegments("/small") ? Body : object20k);
        };
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 40; i++)
            {
                await proxy.GetAsync($"/hot/{i}");
            }
        }
        for (var i = 0; i < 50; i++)
        {
            await proxy.GetAsync($"/scan/{i}");
        }
        await proxy.GetAsync("/small");
        proxy.Time.Advance(TimeSpan.FromSeconds(1));
        var memory = (await StatsAsync(proxy, "?window=60")).GetProperty("memory");
        var rejected = proxy.Services.GetRequiredService<CacheProxy.Storage.MemoryCacheStore>().Rejected;
        Assert.True(rejected >= 10, $"{rejected} rejected");
        Assert.Equal(rejected, memory.GetProperty("rejections").GetInt64());
        Assert.Equal(rejected, memory.GetProperty("rejectionsInWindow").GetInt64());
        Assert.InRange(memory.GetProperty("hitRatio").GetDouble(), 0.05, 0.95); // hits and misses both happened

        proxy.Time.Advance(TimeSpan.FromSeconds(589)); // 10 s left of 600
        await proxy.GetAsync("/small");
        await proxy.WaitForRefreshesAsync();
        proxy.Time.Advance(TimeSpan.FromSeconds(1));
        memory = (await StatsAsync(proxy, "?window=60")).GetProperty("memory");
        Assert.Equal(0, memory.GetProperty("rejectionsInWindow").GetInt64());
        Assert.Equal(1.0, memory.GetProperty("hitRatio").GetDouble()); // the one lookup in this window was a hit
        var ahead = memory.GetProperty("refreshAhead");
        Assert.Equal((1, 1, 0, 0), (ahead.GetProperty("started").GetInt64(), ahead.GetProperty("startedInWindow").GetInt64(),
            ahead.GetProperty("skipped").GetInt64(), ahead.GetProperty("wasted").GetInt64()));
    }

    [Theory]
    [InlineData("?window=0")]
    [InlineData("?window=61")]
    [InlineData("?window=ten")]
    [InlineData("?window=5&window=6")]
    public async Task AWindowOutsideTheMinuteKept_Is400NamingIt(string query)
    {
        await using var proxy = await StartAsync();
        var response = await SendAsync(proxy, HttpMethod.Get, "/stats" + query, Bearer);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("window", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Stats_ShowRecentPurgesAndMaintenance()
    {
        await using var proxy = await StartAsync();
        await SendAsync(proxy, HttpMethod.Post, "/purge", Bearer, new { tags = new[] { "news", "sport" }, soft = true });
        await SendAsync(proxy, HttpMethod.Post, "/maintenance", Bearer, new { enabled = true });

        var stats = await StatsAsync(proxy);

        var purge = Assert.Single(stats.GetProperty("recentPurges").EnumerateArray());
        Assert.Equal("ops", purge.GetProperty("caller").GetString());
        Assert.Equal(2, purge.GetProperty("tags").GetInt32());
        Assert.True(purge.GetProperty("soft").GetBoolean());
        Assert.Equal(JsonValueKind.Null, purge.GetProperty("published").ValueKind); // no Redis: no other instance to tell
        Assert.True(stats.GetProperty("maintenance").GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task ABrowser_SignsInWithBasic_TheKeyAsPassword_AndIsOfferedBasicWithoutOne()
    {
        await using var proxy = await StartAsync();
        static AuthenticationHeaderValue Basic(string credentials) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));

        var signedIn = await SendAsync(proxy, HttpMethod.Get, "/dashboard", Basic("anyone:" + PurgeTests.Key));
        var wrong = await SendAsync(proxy, HttpMethod.Get, "/dashboard", Basic("anyone:" + PurgeTests.Key + "x"));
        var notBase64 = await SendAsync(proxy, HttpMethod.Get, "/stats", new AuthenticationHeaderValue("Basic", "%%%"));
        var none = await SendAsync(proxy, HttpMethod.Get, "/dashboard", null);

        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, notBase64.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains(none.Headers.WwwAuthenticate, c => c.Scheme == "Basic");
    }

    /// <summary>
    /// Regression: the Errors card counted the browser's own sign-in (its first requests carry no credentials) as
    /// errors of the gateway. A call without any key is refused and counted as refused, not as an error; a wrong key is.
    /// </summary>
    [Fact]
    public async Task ACallWithoutAKey_IsRefusedButNoError_AWrongKeyIsAnError()
    {
        await using var proxy = await StartAsync();
        using var errors = proxy.Collect<long>("cacheproxy.errors");
        using var refused = proxy.Collect<long>("cacheproxy.management.refused");

        var none = await SendAsync(proxy, HttpMethod.Get, "/dashboard", null);
        var noneAgain = await SendAsync(proxy, HttpMethod.Get, "/dashboard/events", null);
        var wrong = await SendAsync(proxy, HttpMethod.Get, "/stats", new AuthenticationHeaderValue("Bearer", PurgeTests.Key + "x"));

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (none.StatusCode, noneAgain.StatusCode, wrong.StatusCode));
        Assert.Equal(["no_key", "no_key", "wrong_key"], refused.GetMeasurementSnapshot().Select(m => (string)m.Tags["reason"]!));
        Assert.Equal("security", (string)Assert.Single(errors.GetMeasurementSnapshot()).Tags["category"]!); // the wrong key alone
        Assert.Equal(1, (await StatsAsync(proxy)).GetProperty("totals").GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task ThePage_IsServedFromTheAssembly_AndNamesNothingElsewhere()
    {
        await using var proxy = await StartAsync();
        var page = await SendAsync(proxy, HttpMethod.Get, "/dashboard", Bearer);
        var script = await SendAsync(proxy, HttpMethod.Get, "/dashboard/dashboard.js", Bearer);
        var style = await SendAsync(proxy, HttpMethod.Get, "/dashboard/dashboard.css", Bearer);
        var slash = await SendAsync(proxy, HttpMethod.Get, "/dashboard/", Bearer);

        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/css", style.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("src=\"dashboard/dashboard.js\"", html, StringComparison.Ordinal);
        foreach (var text in new[] { html, await script.Content.ReadAsStringAsync(), await style.Content.ReadAsStringAsync() })
        {
            Assert.DoesNotContain("http://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("url(", text, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.Redirect, slash.StatusCode);
        Assert.Equal("/dashboard", slash.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task TheEventStream_SendsTheFiguresEachSecond_WithTheRequestsBetween()
    {
        await using var proxy = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/events");
        request.Headers.Authorization = Bearer;
        using var response = await proxy.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = await NextEventAsync(reader);
        await proxy.GetAsync("/a");
        await proxy.GetAsync("/a");
        proxy.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await NextEventAsync(reader);

        Assert.Equal(0, first.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(2, second.GetProperty("totals").GetProperty("requests").GetInt64());
    }

    private static async Task<JsonElement> NextEventAsync(StreamReader reader)
    {
        string? type = null;
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "stats")
            {
                return JsonDocument.Parse(line["data: ".Length..]).RootElement;
            }
        }
        throw new InvalidOperationException("the stream ended");
    }

    [Fact]
    public void Percentiles_AreInterpolatedWithinTheirBucket_AsPrometheusDoes()
    {
        var buckets = new long[CacheProxy.Diagnostics.CacheProxyMetrics.DurationBuckets.Length + 1];
        buckets[3] = 100; // (0.5 ms, 1 ms]
        buckets[6] = 100; // (5 ms, 10 ms]

        Assert.Equal(1.0, Figures.Quantile(buckets, 0.5));
        Assert.Equal(9.9, Figures.Quantile(buckets, 0.99)!.Value, 3);
        Assert.Null(Figures.Quantile(new long[buckets.Length], 0.5));
        buckets[^1] = 1000; // past the last bound
        Assert.Equal(30_000, Figures.Quantile(buckets, 0.99));
    }
}
