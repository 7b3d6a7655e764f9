using System.Net;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// Hit-for-pass (<c>HitForPass</c>): a key whose response said it may not be shared is passed straight upstream for
/// <c>HitForPassTtl</c> — not collapsed behind another request for it, not captured — until its time is up, a purge
/// covers it or a response is stored for it.
/// </summary>
public sealed class HitForPassTests
{
    private const string PassStatus = "fwd=bypass; detail=hit-for-pass";

    /// <summary>The origin answers with <see cref="CacheControl"/> (no-store to begin with) and the query's <c>sk</c> as its Surrogate-Key.</summary>
    private sealed class Origin
    {
        public string CacheControl { get; set; } = "no-store";

        public int Status { get; set; } = StatusCodes.Status200OK;

        public Task Answer(HttpContext c)
        {
            c.Response.StatusCode = Status;
            c.Response.Headers.CacheControl = CacheControl;
            c.Response.Headers["Surrogate-Key"] = c.Request.Query["sk"].ToString();
            return Status == StatusCodes.Status304NotModified ? Task.CompletedTask : c.Response.WriteAsync("body");
        }
    }

    private static async Task<(ProxyFixture Proxy, Origin Origin)> StartAsync(Action<CacheProxyOptions>? configure = null)
    {
        var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            configure?.Invoke(o);
        }, mapManagement: true);
        var origin = new Origin();
        proxy.Origin.Handler = origin.Answer;
        return (proxy, origin);
    }

    [Fact]
    public async Task RequestsForAKeyWhoseResponseWasNotStorable_GoUpstreamSideBySide_NotOneBehindAnother()
    {
        var (proxy, _) = await StartAsync();
        await using var _proxy = proxy;
        var first = await proxy.GetAsync("/private");
        Assert.Contains("fwd=miss; fwd-status=200", first.CacheStatus(), StringComparison.Ordinal);
        // Two requests at once, each held by the origin until both have arrived: behind a collapsed fetch, the second
        // would wait for the first, which waits for the second — and the bound below fails the test.
        var arrived = 0;
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            if (Interlocked.Increment(ref arrived) == 2)
            {
                both.SetResult();
            }
            await both.Task;
            c.Response.Headers.CacheControl = "no-store";
            await c.Response.WriteAsync("body");
        };

        var requests = new[] { proxy.GetAsync("/private"), proxy.GetAsync("/private") };
        await Signal.WaitUntilAsync(() => Volatile.Read(ref arrived) == 2, TimeSpan.FromSeconds(20));
        var responses = await Task.WhenAll(requests);

        Assert.Equal(0, proxy.CollapseWaiters);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("body", await response.Content.ReadAsStringAsync());
            Assert.Equal("CacheProxy; " + PassStatus, response.CacheStatus());
        }
        var marked = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "HitForPassMarked");
        Assert.Contains("no-store", marked.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMarkEndsWithItsTime_ThenAStorableResponseIsStoredAndServed()
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        using var keys = proxy.Collect<int>("cacheproxy.hit_for_pass.keys");
        int Marked()
        {
            keys.RecordObservableInstruments();
            return keys.LastMeasurement!.Value;
        }
        await proxy.GetAsync("/changing");
        var markedAfterFirst = Marked();
        origin.CacheControl = "max-age=600";

        var passed = await proxy.GetAsync("/changing"); // within the mark: passed on, not captured, not stored
        var stillPassed = await proxy.GetAsync("/changing");
        proxy.Time.Advance(TimeSpan.FromSeconds(30)); // HitForPassTtl's default
        var miss = await proxy.GetAsync("/changing");
        var hit = await proxy.GetAsync("/changing");

        Assert.EndsWith(PassStatus, passed.CacheStatus(), StringComparison.Ordinal);
        Assert.EndsWith(PassStatus, stillPassed.CacheStatus(), StringComparison.Ordinal);
        Assert.Contains("fwd=miss; fwd-status=200; stored", miss.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal(4, proxy.Origin.Calls);
        Assert.Equal(1, markedAfterFirst);
        Assert.Equal(0, Marked()); // looked at past its time: gone
    }

    [Fact]
    public async Task AStoredResponseWhoseOriginNowRefusesToShare_IsReplacedByTheMark_NotRevalidatedOnEveryRequest()
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        origin.CacheControl = "max-age=10";
        await proxy.GetAsync("/turned-private");
        proxy.Time.Advance(TimeSpan.FromSeconds(20)); // stale: the next request revalidates
        origin.CacheControl = "private";

        var revalidated = await proxy.GetAsync("/turned-private");
        var next = await proxy.GetAsync("/turned-private");

        Assert.Contains("fwd=stale; fwd-status=200", revalidated.CacheStatus(), StringComparison.Ordinal);
        // Kept, the stale response would send this request (and each after it) through another collapsed revalidation.
        Assert.EndsWith(PassStatus, next.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("body", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AServerErrorOnRevalidation_LeavesTheStoredResponse_ForStaleIfError()
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        origin.CacheControl = "max-age=10, stale-if-error=600";
        await proxy.GetAsync("/flaky");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));
        origin.CacheControl = "no-store";
        origin.Status = StatusCodes.Status503ServiceUnavailable;

        var failed = await proxy.GetAsync("/flaky");

        Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        Assert.Contains("detail=stale-if-error", failed.CacheStatus(), StringComparison.Ordinal);
        Assert.Contains("detail=stale-if-error", (await proxy.GetAsync("/flaky")).CacheStatus(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Purges => new()
    {
        { "/p?sk=product:7", "{\"urls\":[\"http://localhost/p?sk=product:7\"]}" },
        { "/p?sk=product:7", "{\"tags\":[\"product:7\"]}" },
        { "/p?sk=product:7", "{\"tags\":[\"product:7\"],\"soft\":true}" },
        { "/p?sk=product:7", "{\"prefixes\":[\"http://localhost/p\"]}" },
    };

    [Theory]
    [MemberData(nameof(Purges))]
    public async Task APurgeThatCoversTheKey_EndsTheMark(string path, string purge)
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        await proxy.GetAsync(path);
        Assert.EndsWith(PassStatus, (await proxy.GetAsync(path)).CacheStatus(), StringComparison.Ordinal);
        origin.CacheControl = "max-age=600";
        proxy.Time.Advance(TimeSpan.FromSeconds(1)); // the purge is later than the fetch that marked the key

        using var content = new StringContent(purge, System.Text.Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = content };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        (await proxy.Client.SendAsync(request)).EnsureSuccessStatusCode();
        var miss = await proxy.GetAsync(path);

        Assert.Contains("fwd=miss; fwd-status=200; stored", miss.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("CacheProxy; hit", (await proxy.GetAsync(path)).CacheStatus());
    }

    [Fact]
    public async Task APurgeOfAnotherTag_LeavesTheMark()
    {
        var (proxy, _) = await StartAsync();
        await using var _proxy = proxy;
        await proxy.GetAsync("/p?sk=product:7");
        proxy.Time.Advance(TimeSpan.FromSeconds(1));

        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "product:8" } })).EnsureSuccessStatusCode();

        Assert.EndsWith(PassStatus, (await proxy.GetAsync("/p?sk=product:7")).CacheStatus(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnsafeRequestToTheUrl_EndsTheMark()
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        await proxy.GetAsync("/cart");
        origin.CacheControl = "max-age=600";
        Assert.EndsWith(PassStatus, (await proxy.GetAsync("/cart")).CacheStatus(), StringComparison.Ordinal);
        proxy.Time.Advance(TimeSpan.FromSeconds(1));

        (await proxy.Client.PostAsync("/cart", new StringContent("item=1"))).EnsureSuccessStatusCode();

        Assert.Contains("fwd=miss; fwd-status=200; stored", (await proxy.GetAsync("/cart")).CacheStatus(), StringComparison.Ordinal);
    }

    /// <summary>Refusals that say nothing of the next request's response: they leave its requests collapsed and captured.</summary>
    [Theory]
    [InlineData("a server error", "no-store", 503, null, null)]
    [InlineData("a private answer to a request with a cookie", "private", 200, "Cookie", "session=1")]
    [InlineData("a private answer to a request with authorization", "private", 200, "Authorization", "Bearer x")]
    [InlineData("no-store the request asked for", "max-age=600", 200, "Cache-Control", "no-store")]
    [InlineData("a 304 to the client's own condition", "max-age=600", 304, "If-None-Match", "\"v1\"")]
    public async Task RefusalsOwedToTheRequestOrAFailingOrigin_DoNotMark(string _, string cacheControl, int status, string? field, string? value)
    {
        var (proxy, origin) = await StartAsync();
        await using var _proxy = proxy;
        origin.CacheControl = cacheControl;
        origin.Status = status;
        var first = field is null ? await proxy.GetAsync("/k") : await proxy.GetAsync("/k", (field, value!));
        Assert.DoesNotContain("stored", first.CacheStatus(), StringComparison.Ordinal);
        origin.CacheControl = "max-age=600";
        origin.Status = 200;

        var next = await proxy.GetAsync("/k");

        Assert.Contains("fwd=miss; fwd-status=200; stored", next.CacheStatus(), StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Logs.GetSnapshot(), r => r.Id.Name == "HitForPassMarked");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABodyTooLargeToStore_MarksTheKey_SoTheNextIsNotCapturedOnlyToOverflow(bool contentLength)
    {
        var (proxy, _) = await StartAsync(o => o.MaxObjectSize = 1024);
        await using var _proxy = proxy;
        var body = new string('x', 4096);
        proxy.Origin.Handler = async c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            if (contentLength)
            {
                c.Response.ContentLength = body.Length;
            }
            await c.Response.WriteAsync(body);
        };

        var first = await proxy.GetAsync("/large");
        var second = await proxy.GetAsync("/large");

        Assert.Equal(body, await first.Content.ReadAsStringAsync());
        Assert.Equal(body, await second.Content.ReadAsStringAsync());
        Assert.EndsWith(PassStatus, second.CacheStatus(), StringComparison.Ordinal);
        Assert.Contains("MaxObjectSize", Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "HitForPassMarked").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AZeroTtl_TurnsItOff()
    {
        var (proxy, _) = await StartAsync(o => o.HitForPassTtl = TimeSpan.Zero);
        await using var _proxy = proxy;
        await proxy.GetAsync("/private");

        var next = await proxy.GetAsync("/private");

        Assert.Contains("fwd=miss; fwd-status=200", next.CacheStatus(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APassedResponse_LosesTheFieldsMeantForTheCache()
    {
        var (proxy, _) = await StartAsync();
        await using var _proxy = proxy;
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "no-store";
            c.Response.Headers["Surrogate-Control"] = "no-store"; // replaces Cache-Control, and is this cache's alone
            c.Response.Headers["Surrogate-Key"] = "a b";
            return c.Response.WriteAsync("body");
        };
        var first = await proxy.GetAsync("/edge");

        var passed = await proxy.GetAsync("/edge");

        Assert.EndsWith(PassStatus, passed.CacheStatus(), StringComparison.Ordinal);
        foreach (var response in new[] { first, passed })
        {
            Assert.Null(response.Header("Surrogate-Control"));
            Assert.Null(response.Header("Surrogate-Key"));
        }
    }
}
