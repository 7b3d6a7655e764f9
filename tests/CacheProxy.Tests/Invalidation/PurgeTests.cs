using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Invalidation;

/// <summary>Surrogate keys and POST /purge on one instance, through the real middleware, YARP and an origin.</summary>
public sealed class PurgeTests
{
    internal const string Key = "purge-key-0123456789abcdef0123456789";

    private static Task<ProxyFixture> StartAsync(Action<CacheProxyOptions>? configure = null) =>
        ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = Key;
            configure?.Invoke(o);
        }, mapManagement: true);

    /// <summary>Every response cacheable for a minute, validated by ETag, tagged by the query's <c>tags</c>.</summary>
    private static Func<HttpContext, Task> Tagged(Func<HttpContext, Task>? before = null) => async c =>
    {
        if (before is not null)
        {
            await before(c);
        }
        c.Response.Headers.CacheControl = "max-age=60";
        c.Response.Headers.ETag = "\"v1\"";
        c.Response.Headers["Surrogate-Key"] = c.Request.Query["sk"].ToString();
        c.Response.Headers["Cache-Tag"] = c.Request.Query["ct"].ToString();
        if (c.Request.Headers.IfNoneMatch == "\"v1\"")
        {
            c.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        await c.Response.WriteAsync("body of " + c.Request.Path + c.Request.QueryString);
    };

    internal static async Task<HttpResponseMessage> PurgeAsync(HttpClient client, string url, object body, string? key = Key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return await client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> PurgeAsync(ProxyFixture proxy, object body, string? key = Key) =>
        PurgeAsync(proxy.Client, "/purge", body, key);

    private static async Task<string> StatusOfAsync(ProxyFixture proxy, string path) => (await proxy.GetAsync(path)).CacheStatus();

    [Fact]
    public async Task TagsComeFromSurrogateKeyAndCacheTag_AndNeverReachTheClient()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Tagged();

        var miss = await proxy.GetAsync("/a?sk=article:1%20section:news&ct=author:7,%20lang:en");
        var hit = await proxy.GetAsync("/a?sk=article:1%20section:news&ct=author:7,%20lang:en");

        Assert.Null(miss.Header("Surrogate-Key"));
        Assert.Null(miss.Header("Cache-Tag"));
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Null(hit.Header("Surrogate-Key"));
        foreach (var tag in new[] { "article:1", "section:news", "author:7", "lang:en" })
        {
            await PurgeAsync(proxy, new { tags = new[] { "unrelated" } });
            Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/a?sk=article:1%20section:news&ct=author:7,%20lang:en"));
        }
        (await PurgeAsync(proxy, new { tags = new[] { "lang:en" } })).EnsureSuccessStatusCode();
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/a?sk=article:1%20section:news&ct=author:7,%20lang:en"));
    }

    [Fact]
    public async Task TagHeaders_CanBeLeftForTheClient()
    {
        await using var proxy = await StartAsync(o => o.Tags.RemoveTagHeaders = false);
        proxy.Origin.Handler = Tagged();

        await proxy.GetAsync("/a?sk=x");
        var hit = await proxy.GetAsync("/a?sk=x");

        Assert.Equal("x", hit.Header("Surrogate-Key"));
    }

    [Fact]
    public async Task TagsPastTheBounds_AreDropped_WithALogEvent_NeverAFailure()
    {
        await using var proxy = await StartAsync(o =>
        {
            o.Tags.MaxTagsPerResponse = 3;
            o.Tags.MaxTagLength = 10;
        });
        proxy.Origin.Handler = Tagged();
        const string path = "/b?sk=t1%20t2%20this-one-is-too-long%20t3%20t4";

        var first = await proxy.GetAsync(path);
        await proxy.WaitForLogAsync("ResponseStored");
        (await PurgeAsync(proxy, new { tags = new[] { "t4" } })).EnsureSuccessStatusCode(); // past the count: not a tag of it
        var afterT4 = await StatusOfAsync(proxy, path);
        (await PurgeAsync(proxy, new { tags = new[] { "t3" } })).EnsureSuccessStatusCode();
        var afterT3 = await StatusOfAsync(proxy, path);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.StartsWith("CacheProxy; hit", afterT4);
        Assert.Contains("fwd=miss", afterT3);
        var dropped = proxy.Logs.GetSnapshot().First(r => r.Id.Name == "TagsDropped");
        Assert.Contains("Dropped 2 tags", dropped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeByTag_RemovesEveryEntryWithIt_AndNothingElse()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Tagged();
        foreach (var path in new[] { "/1?sk=product:7", "/2?sk=product:7%20home", "/3?sk=product:8" })
        {
            await proxy.GetAsync(path);
        }

        var purge = await PurgeAsync(proxy, new { tags = new[] { "product:7" } });

        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        using var answer = JsonDocument.Parse(await purge.Content.ReadAsStringAsync());
        Assert.Equal(1, answer.RootElement.GetProperty("purged").GetInt32());
        Assert.Equal(2, answer.RootElement.GetProperty("removedHere").GetInt32());
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/1?sk=product:7"));
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/2?sk=product:7%20home"));
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/3?sk=product:8"));
        var log = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "PurgeApplied");
        Assert.Equal("CacheProxy.Purge", log.Category);
        Assert.Contains("Purge by ops", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeByUrl_TakesEveryVariantOfIt()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.Vary = "Accept-Language";
            return Tagged()(c);
        };
        await proxy.GetAsync("/v", ("Accept-Language", "en"));
        await proxy.GetAsync("/v", ("Accept-Language", "de"));
        await proxy.GetAsync("/w");

        (await PurgeAsync(proxy, new { urls = new[] { "http://localhost/v" } })).EnsureSuccessStatusCode();

        Assert.Contains("fwd=", (await proxy.GetAsync("/v", ("Accept-Language", "en"))).CacheStatus());
        Assert.Contains("fwd=", (await proxy.GetAsync("/v", ("Accept-Language", "de"))).CacheStatus());
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/w"));
    }

    [Fact]
    public async Task PurgeByPrefix_MatchesLiterally_PatternCharactersIncluded()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Tagged();
        foreach (var path in new[] { "/articles/1", "/articles/2?page=2", "/articlesX", "/other" })
        {
            await proxy.GetAsync(path);
        }

        (await PurgeAsync(proxy, new { prefixes = new[] { "http://localhost/*", "http://localhost/articles?", "http://localhost/[a-z]*" } })).EnsureSuccessStatusCode();
        var afterPatterns = await Task.WhenAll(new[] { "/articles/1", "/articles/2?page=2", "/articlesX", "/other" }.Select(p => StatusOfAsync(proxy, p)));
        (await PurgeAsync(proxy, new { prefixes = new[] { "http://localhost/articles/" } })).EnsureSuccessStatusCode();

        Assert.All(afterPatterns, status => Assert.StartsWith("CacheProxy; hit", status)); // nothing starts with them literally
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/articles/1"));
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/articles/2?page=2"));
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/articlesX"));
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/other"));
    }

    [Fact]
    public async Task SoftPurge_MarksStale_SoAStampedeCostsOneRevalidation()
    {
        await using var proxy = await StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = false;
        proxy.Origin.Handler = Tagged(async c =>
        {
            if (Volatile.Read(ref slow))
            {
                await release.Task;
            }
        });
        await proxy.GetAsync("/s?sk=news");
        Volatile.Write(ref slow, true);
        proxy.Time.Advance(TimeSpan.FromSeconds(1));

        (await PurgeAsync(proxy, new { tags = new[] { "news" }, soft = true })).EnsureSuccessStatusCode();
        var stampede = Enumerable.Range(0, 10).Select(_ => proxy.GetAsync("/s?sk=news")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(9);
        release.SetResult();
        var responses = await Task.WhenAll(stampede);

        Assert.Equal(2, proxy.Origin.Calls); // the fill, and one revalidation
        Assert.Equal("\"v1\"", proxy.Origin.Seen.Last().Headers["If-None-Match"]);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/s?sk=news")); // refreshed by the 304
    }

    [Fact]
    public async Task AFillThatBeganBeforeAPurge_DoesNotSurviveIt()
    {
        await using var proxy = await StartAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var version = 0;
        proxy.Origin.Handler = async c =>
        {
            if (Interlocked.Increment(ref version) == 1)
            {
                entered.SetResult();
                await release.Task; // the origin answers after the purge returned
            }
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.Headers["Surrogate-Key"] = "article:1";
            await c.Response.WriteAsync("version " + Volatile.Read(ref version));
        };

        var fill = proxy.GetAsync("/race");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        proxy.Time.Advance(TimeSpan.FromMilliseconds(1));
        (await PurgeAsync(proxy, new { tags = new[] { "article:1" } })).EnsureSuccessStatusCode();
        release.SetResult();
        await fill;
        await proxy.WaitForLogAsync("ResponseStored");
        var after = await proxy.GetAsync("/race");

        Assert.Contains("fwd=miss", after.CacheStatus());
        Assert.Equal("version 2", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnUnsafeRequest_PurgesTheUrl_AndAFillInFlightForIt()
    {
        await using var proxy = await StartAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gets = 0;
        proxy.Origin.Handler = async c =>
        {
            if (HttpMethods.IsGet(c.Request.Method) && Interlocked.Increment(ref gets) == 1)
            {
                entered.SetResult();
                await release.Task;
            }
            c.Response.Headers.CacheControl = "max-age=60";
            await c.Response.WriteAsync("state " + Volatile.Read(ref gets));
        };

        var fill = proxy.GetAsync("/doc");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        proxy.Time.Advance(TimeSpan.FromMilliseconds(1));
        await proxy.Client.PutAsync("/doc", new StringContent("new"));
        release.SetResult();
        await fill;
        await proxy.WaitForLogAsync("ResponseStored");

        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/doc"));
    }

    [Theory]
    [InlineData("{\"urls\": [\"http://localhost/a\"], \"colour\": \"red\"}", "colour")]
    [InlineData("{\"urls\": \"http://localhost/a\"}", "urls")]
    [InlineData("{\"tags\": [\"a\", 7]}", "tags[1]")]
    [InlineData("{\"soft\": \"yes\", \"tags\": [\"a\"]}", "soft")]
    [InlineData("{\"urls\": [\"/relative\"]}", "urls[0]")]
    [InlineData("{\"urls\": [\"ftp://localhost/a\"]}", "urls[0]")]
    [InlineData("{\"prefixes\": [\"localhost/a\"]}", "prefixes[0]")]
    [InlineData("{\"tags\": [\"\"]}", "tags[0]")]
    [InlineData("{\"tags\": [\"a\\u0001b\"]}", "tags[0]")]
    [InlineData("{}", "urls")]
    [InlineData("[1, 2]", "body")]
    [InlineData("{\"tags\": [\"a\"", "tags[1]")]
    [InlineData("not json", "body")]
    public async Task AMalformedPurge_Is400ProblemNamingTheField_AndPurgesNothing(string body, string field)
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Tagged();
        await proxy.GetAsync("/a?sk=a");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        var response = await proxy.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, problem.RootElement.GetProperty("field").GetString());
        Assert.Equal("urn:cacheproxy:error:invalid-purge", problem.RootElement.GetProperty("type").GetString());
        Assert.StartsWith("CacheProxy; hit", await StatusOfAsync(proxy, "/a?sk=a"));
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "PurgeRejected");
    }

    [Fact]
    public async Task SelectorsPastTheBounds_Are400()
    {
        await using var proxy = await StartAsync(o =>
        {
            o.Purge.MaxSelectors = 2;
            o.Purge.MaxSelectorLength = 20;
        });

        var tooMany = await PurgeAsync(proxy, new { tags = new[] { "a", "b" }, urls = new[] { "http://localhost/a" } });
        var tooLong = await PurgeAsync(proxy, new { tags = new[] { new string('x', 21) } });

        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("tags[0]", await tooLong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAKey_OrWithAWrongOne_Is401_AndPurgesNothing_ThenTooManyWrongKeysAre429_ButTheRightKeyIsTaken()
    {
        await using var proxy = await StartAsync(o => o.Management.FailedAttemptsPerMinute = 2);
        proxy.Origin.Handler = Tagged();
        await proxy.GetAsync("/a?sk=a");
        using var refused = proxy.Collect<long>("cacheproxy.management.refused");

        var noKey = await PurgeAsync(proxy, new { tags = new[] { "a" } }, key: null);
        var noKeyAgain = await PurgeAsync(proxy, new { tags = new[] { "a" } }, key: null); // a browser's handshake: never counted
        var wrongKey = await PurgeAsync(proxy, new { tags = new[] { "b" } }, key: Key + "x");
        var third = await PurgeAsync(proxy, new { tags = new[] { "b" } }, key: "short");
        var fourth = await PurgeAsync(proxy, new { tags = new[] { "b" } }, key: "another wrong one");
        var stillAsked = await PurgeAsync(proxy, new { tags = new[] { "b" } }, key: null); // still offered the sign-in
        var theRightKey = await PurgeAsync(proxy, new { tags = new[] { "a" } }); // an operator behind the same address

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(["Bearer", "Basic realm=\"CacheProxy management\", charset=\"UTF-8\""], noKey.Headers.WwwAuthenticate.Select(c => c.ToString()));
        Assert.Equal("application/problem+json", noKey.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, noKeyAgain.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, third.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stillAsked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, theRightKey.StatusCode);
        Assert.Contains("fwd=miss", await StatusOfAsync(proxy, "/a?sk=a")); // purged by the right key alone
        Assert.Equal(["no_key", "no_key", "wrong_key", "wrong_key", "rate_limited", "no_key"],
            refused.GetMeasurementSnapshot().Select(m => (string)m.Tags["reason"]!));
        var events = proxy.Logs.GetSnapshot().Where(r => r.Id.Name == "ManagementCallRefused").ToList();
        Assert.Equal(6, events.Count);
        Assert.All(events, e =>
        {
            Assert.Equal("CacheProxy.Security", e.Category);
            Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task HealthAndMetrics_NeedAKeyOnlyWhenConfigured()
    {
        await using var open = await StartAsync();
        await using var closed = await StartAsync(o => o.Management.RequireApiKeyForHealth = true);

        Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await closed.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await closed.GetAsync("/health", ("Authorization", "Bearer " + Key))).StatusCode);
    }

    [Fact]
    public async Task KeysReload_SoTheyRotateWithoutARestart()
    {
        const string next = "next-key-0123456789abcdef0123456789ab";
        var configuration = new ReloadableConfiguration(new() { ["CacheProxy:Management:ApiKeys:ops"] = Key });
        await using var proxy = await ProxyFixture.StartAsync(mapManagement: true,
            features: b => b.Services.AddOptions<CacheProxyOptions>().Bind(configuration.Root.GetSection("CacheProxy")));
        var before = await PurgeAsync(proxy, new { tags = new[] { "a" } }, key: next);

        configuration.Reload(new() { ["CacheProxy:Management:ApiKeys:ops"] = Key, ["CacheProxy:Management:ApiKeys:ops-2"] = next });
        var both = (await PurgeAsync(proxy, new { tags = new[] { "a" } }), await PurgeAsync(proxy, new { tags = new[] { "a" } }, key: next));
        configuration.Reload(new() { ["CacheProxy:Management:ApiKeys:ops-2"] = next });
        var old = await PurgeAsync(proxy, new { tags = new[] { "a" } });

        Assert.Equal(HttpStatusCode.Unauthorized, before.StatusCode);
        Assert.Equal(HttpStatusCode.OK, both.Item1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, both.Item2.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "PurgeApplied" && r.Message.Contains("Purge by ops-2", StringComparison.Ordinal));
    }
}
