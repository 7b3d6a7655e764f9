using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Builder;

namespace CacheProxy.Tests.Esi;

/// <summary>
/// Edge Side Includes through the real gateway (TestServer, the middleware, YARP) and a Kestrel origin that serves
/// pages and fragments and counts the requests for each path.
/// </summary>
public sealed class EsiTests
{
    private const string Negotiated = "content=\"ESI/1.0\"";

    /// <summary>Serves, by path, a body with its fields; counts every request per path.</summary>
    private sealed class Site
    {
        public ConcurrentDictionary<string, int> Requests { get; } = new();

        public ConcurrentDictionary<string, (string Body, string CacheControl, string? SurrogateControl, int Status, string? Tag)> Pages { get; } = new();

        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _held;
        private int _arrived;

        public int Count(string path) => Requests.TryGetValue(path, out var n) ? n : 0;

        /// <summary>Gets how many held requests have arrived (<see cref="Hold"/>).</summary>
        public int Arrived => Volatile.Read(ref _arrived);

        /// <summary>Requests for paths under <paramref name="prefix"/> wait, from now on, until <see cref="Release"/>.</summary>
        public void Hold(string prefix) => _held = prefix;

        public void Release() => _released.TrySetResult();

        public void Page(string path, string body, string cacheControl = "max-age=3600", string? surrogate = Negotiated, int status = 200, string? tag = null) =>
            Pages[path] = (body, cacheControl, surrogate, status, tag);

        public void Fragment(string path, string body, string cacheControl = "max-age=60", int status = 200, string? tag = null) =>
            Pages[path] = (body, cacheControl, null, status, tag);

        public async Task Answer(HttpContext c)
        {
            var path = c.Request.Path.Value!;
            Requests.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (_held is { } held && c.Request.Path.StartsWithSegments(held))
            {
                Interlocked.Increment(ref _arrived);
                await _released.Task.WaitAsync(c.RequestAborted);
            }
            if (!Pages.TryGetValue(path, out var page))
            {
                c.Response.StatusCode = 404;
                return;
            }
            c.Response.StatusCode = page.Status;
            c.Response.ContentType = "text/html; charset=utf-8";
            c.Response.Headers.CacheControl = page.CacheControl;
            c.Response.Headers.ETag = "\"v1\"";
            c.Response.Headers.LastModified = "Mon, 07 Dec 2026 10:00:00 GMT";
            if (page.SurrogateControl is not null)
            {
                c.Response.Headers["Surrogate-Control"] = page.SurrogateControl;
            }
            if (page.Tag is not null)
            {
                c.Response.Headers["Surrogate-Key"] = page.Tag;
            }
            await c.Response.WriteAsync(page.Body.Replace("{query}", c.Request.Query["q"].ToString(), StringComparison.Ordinal));
        }
    }

    private static async Task<(ProxyFixture Proxy, Site Site)> StartAsync(Action<CacheProxyOptions>? configure = null,
        Action<WebApplication>? pipeline = null)
    {
        var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Esi.Enabled = true;
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            configure?.Invoke(o);
        }, pipeline: pipeline, mapManagement: true);
        var site = new Site();
        proxy.Origin.Handler = site.Answer;
        return (proxy, site);
    }

    [Fact]
    public async Task APageIsAssembledFromItsFragments_EachCachedOnItsOwn_AndTheGatewayAdvertisesEsi()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "<h1>News</h1><esi:include src=\"/frag/a\"/>|<esi:include src=\"/frag/b\" />.");
        site.Fragment("/frag/a", "A");
        site.Fragment("/frag/b", "B");
        using var served = proxy.Collect<long>("cacheproxy.served");

        var first = await proxy.GetAsync("/page", ("Accept-Encoding", "gzip, br"));
        var second = await proxy.GetAsync("/page", ("Accept-Encoding", "gzip, br"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("<h1>News</h1>A|B.", await BodyAsync(first));
        Assert.Equal("<h1>News</h1>A|B.", await BodyAsync(second));
        Assert.Contains("fwd=miss", first.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("CacheProxy; hit", second.CacheStatus());
        Assert.Equal(1, site.Count("/page"));
        Assert.Equal(1, site.Count("/frag/a"));
        Assert.Equal(1, site.Count("/frag/b"));
        var pageRequest = proxy.Origin.Seen.First(r => r.PathAndQuery == "/page");
        Assert.Equal("CacheProxy=\"Surrogate/1.0 ESI/1.0\"", pageRequest.Headers["Surrogate-Capability"]);
        Assert.False(pageRequest.Headers.ContainsKey("Accept-Encoding")); // a page is parsed as it comes: asked for uncoded
        Assert.Equal("br", Assert.Single(second.Content.Headers.ContentEncoding)); // assembled, then coded for the client
        Assert.False(second.Headers.Contains("Surrogate-Control"));
        // Bytes served from the cache: the page's own (15, twice) and each fragment's in its own request (on the hit):
        // 32 = the two assembled pages less the first's fragments, which came from the origin.
        served.RecordObservableInstruments();
        Assert.Equal(32, served.GetMeasurementSnapshot().Last().Value);
    }

    /// <summary>The body as the client reads it, decoded by its Content-Encoding.</summary>
    private static async Task<string> BodyAsync(HttpResponseMessage response)
    {
        var bytes = await response.Content.ReadAsStreamAsync();
        Stream decoded = response.Content.Headers.ContentEncoding.SingleOrDefault() switch
        {
            "br" => new System.IO.Compression.BrotliStream(bytes, System.IO.Compression.CompressionMode.Decompress),
            "gzip" => new System.IO.Compression.GZipStream(bytes, System.IO.Compression.CompressionMode.Decompress),
            _ => bytes,
        };
        using var reader = new StreamReader(decoded);
        return await reader.ReadToEndAsync();
    }

    [Theory]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("identity", null)]
    [InlineData(null, null)]
    public async Task TheAssembledPage_IsCodedForTheClient_AsItPrefers(string? acceptEncoding, string? coding)
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        var text = string.Concat(Enumerable.Repeat("<p>a paragraph that compresses</p>", 50));
        site.Page("/page", text + "<esi:include src=\"/frag/a\"/>" + text);
        site.Fragment("/frag/a", "[A]");
        (string, string)[] fields = acceptEncoding is null ? [] : [("Accept-Encoding", acceptEncoding)];

        await proxy.GetAsync("/page", fields); // the miss
        var response = await proxy.GetAsync("/page", fields);

        Assert.Equal(text + "[A]" + text, await BodyAsync(response));
        Assert.Equal(coding, response.Content.Headers.ContentEncoding.SingleOrDefault());
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        if (coding is not null)
        {
            Assert.True(response.Content.Headers.ContentLength is null or < 1000); // coded as it goes: no length ahead
        }
    }

    [Fact]
    public async Task TheAssembledHead_DescribesTheAssembledBytes_AndItsLoosestFreshnessIsTheStrictestPart()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "[<esi:include src=\"/frag/price\"/>]", cacheControl: "public, max-age=3600");
        site.Fragment("/frag/price", "9.99", cacheControl: "max-age=30");

        var first = await proxy.GetAsync("/page");
        var second = await proxy.GetAsync("/page"); // every part is in the memory tier: known before the head

        Assert.Equal("max-age=30", second.Headers.CacheControl?.ToString());
        Assert.Equal(6, second.Content.Headers.ContentLength);
        Assert.Equal("[9.99]", await second.Content.ReadAsStringAsync());
        foreach (var response in new[] { first, second })
        {
            Assert.Null(response.Headers.ETag);
            Assert.Null(response.Content.Headers.LastModified);
            Assert.True(response.Headers.Contains("X-Request-ID"), response.CacheStatus());
        }

        // A private fragment makes the page private (or no-store, when it was still on its way as the head went out:
        // a fragment never stored is fetched each time); a no-store one makes it no-store.
        site.Page("/private-page", "<esi:include src=\"/frag/private\"/>", cacheControl: "public, max-age=3600");
        site.Fragment("/frag/private", "mine", cacheControl: "private, max-age=60");
        site.Page("/nostore-page", "<esi:include src=\"/frag/nostore\"/>", cacheControl: "public, max-age=3600");
        site.Fragment("/frag/nostore", "now", cacheControl: "no-store");
        var privatePage = await proxy.GetAsync("/private-page");
        Assert.Equal("mine", await privatePage.Content.ReadAsStringAsync());
        Assert.True(privatePage.Headers.CacheControl is { Private: true } or { NoStore: true }, privatePage.Headers.CacheControl?.ToString());
        Assert.Equal("no-store", (await proxy.GetAsync("/nostore-page")).Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task TheFirstChunkLeavesBeforeTheSlowestFragment_WhoseHeadSaysNoStore()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "<h1>first</h1><esi:include src=\"/slow\"/><p>last</p>");
        site.Fragment("/slow", "slow");
        site.Hold("/slow");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/page");
        var response = await proxy.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStreamAsync();
        var first = new byte["<h1>first</h1>".Length];
        await body.ReadExactlyAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30)); // while the fragment is held
        site.Release();
        var rest = await new StreamReader(body).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("<h1>first</h1>", System.Text.Encoding.UTF8.GetString(first));
        Assert.Equal("slow<p>last</p>", rest);
    }

    [Fact]
    public async Task APageThatDidNotNegotiateEsi_OrIsOfAnotherType_OrOnARouteWithoutIt_IsSentAsItCame()
    {
        var (proxy, site) = await StartAsync(o => o.Routes["all"] = new RouteCacheOptions());
        await using var _ = proxy;
        const string body = "x<esi:include src=\"/frag/a\"/>y";
        site.Page("/plain", body, surrogate: null);
        site.Page("/other-target", body, surrogate: "content=\"ESI/1.0\";someone-else");
        site.Fragment("/frag/a", "A");

        Assert.Equal(body, await (await proxy.GetAsync("/plain")).Content.ReadAsStringAsync());
        Assert.Equal(body, await (await proxy.GetAsync("/other-target")).Content.ReadAsStringAsync());
        Assert.Equal(0, site.Count("/frag/a"));

        await using var off = (await StartAsync(o => o.Esi.Enabled = false)).Proxy;
        var offSite = new Site();
        off.Origin.Handler = offSite.Answer;
        offSite.Page("/page", body);
        Assert.Equal(body, await (await off.GetAsync("/page")).Content.ReadAsStringAsync());
        Assert.False(off.Origin.Seen.Single().Headers["Surrogate-Capability"].Contains("ESI", StringComparison.Ordinal));

        await using var json = (await StartAsync(o => o.Esi.ContentTypes = ["application/json"])).Proxy;
        var jsonSite = new Site();
        json.Origin.Handler = jsonSite.Answer;
        jsonSite.Page("/page", body);
        Assert.Equal(body, await (await json.GetAsync("/page")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RemoveCommentAndEsiComments_AreProcessed()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "a<esi:remove><a href=\"/fallback\">x</a></esi:remove>b<esi:comment text=\"note\"/>c<!--esi <esi:include src=\"/frag/a\"/>-->d");
        site.Fragment("/frag/a", "A");

        Assert.Equal("abc Ad", await (await proxy.GetAsync("/page")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Variables_AreEscapedWhereTheyLand_AndOnlyListedCookiesAreRead()
    {
        var (proxy, site) = await StartAsync(o => o.Routes["all"] = new RouteCacheOptions { Esi = { Cookies = ["name"] } });
        await using var _ = proxy;
        site.Page("/page", "<esi:vars>Hi $(HTTP_COOKIE{name}|'you'), $(HTTP_COOKIE{session}|'none') on $(HTTP_HOST)</esi:vars>"
            + "<esi:include src=\"/frag/q?x=$(QUERY_STRING{q})\"/>");
        site.Fragment("/frag/q", "F");

        var response = await proxy.GetAsync("/page?q=a%26admin%3D1%2F..", ("Cookie", "name=<script>alert(1)</script>; session=secret"));

        Assert.Equal("Hi &lt;script&gt;alert(1)&lt;/script&gt;, none on localhostF", await response.Content.ReadAsStringAsync());
        Assert.Contains("Cookie", response.Headers.Vary);
        Assert.Contains("Host", response.Headers.Vary);
        // The query parameter's value went into the fragment's URL as one value, not as more of the URL.
        Assert.Contains(proxy.Origin.Seen, r => r.PathAndQuery == "/frag/q?x=a%26admin%3D1%2F..");
        Assert.Equal("Hi you, none on localhostF", await (await proxy.GetAsync("/page?q=a%26admin%3D1%2F..")).Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/page?tier=gold", "gold!")]
    [InlineData("/page?tier=silver&n=12", "many")]
    [InlineData("/page?n=3", "other")]
    public async Task ChooseTakesTheFirstWhenThatHolds_ElseOtherwise(string url, string expected)
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "<esi:choose>\n<esi:when test=\"$(QUERY_STRING{tier}) == 'gold'\">gold!</esi:when>"
            + "<esi:when test=\"$(QUERY_STRING{n}) > 10 &amp; !($(QUERY_STRING{tier}) == 'gold')\">many</esi:when>"
            + "<esi:otherwise>other</esi:otherwise>\n</esi:choose>");

        Assert.Equal(expected, await (await proxy.GetAsync(url)).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TextAnAttackerControls_NeverBecomesAnInstruction()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        const string injected = "<esi:include src=\"/secret\"/>";
        // A fragment that reflects a query parameter, and did not negotiate ESI itself.
        site.Page("/page", "<esi:include src=\"/frag/echo?q=$(QUERY_STRING{q})\"/>");
        site.Fragment("/frag/echo", "you searched {query}");
        // A variable whose value is an instruction.
        site.Page("/vars", "<esi:vars>$(QUERY_STRING{q})</esi:vars>");
        // A when test whose operand is more of the test.
        site.Page("/when", "<esi:choose><esi:when test=\"$(QUERY_STRING{q}) == 'x'\">yes</esi:when><esi:otherwise>no</esi:otherwise></esi:choose>");
        site.Page("/secret", "secret");

        var echoed = await (await proxy.GetAsync("/page?q=" + Uri.EscapeDataString(injected))).Content.ReadAsStringAsync();
        var vars = await (await proxy.GetAsync("/vars?q=" + Uri.EscapeDataString(injected))).Content.ReadAsStringAsync();
        var when = await (await proxy.GetAsync("/when?q=" + Uri.EscapeDataString("y' | 'a' == 'a"))).Content.ReadAsStringAsync();

        Assert.Equal("you searched " + injected, echoed);
        Assert.Equal(System.Net.WebUtility.HtmlEncode(injected), vars);
        Assert.Equal("no", when);
        Assert.Equal(0, site.Count("/secret"));
    }

    [Fact]
    public async Task AFailingFragment_TakesItsAlt_OrIsLeftOutWithOnErrorContinue()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "[<esi:include src=\"/frag/broken\" alt=\"/frag/alt\"/>][<esi:include src=\"/frag/broken2\" onerror=\"continue\"/>]");
        site.Fragment("/frag/broken", "error page", status: 500);
        site.Fragment("/frag/broken2", "error page", status: 503);
        site.Fragment("/frag/alt", "ALT");
        using var fragments = proxy.Collect<long>("cacheproxy.esi.fragments");

        var response = await proxy.GetAsync("/page");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[ALT][]", await response.Content.ReadAsStringAsync());
        var outcomes = fragments.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!).Order().ToArray();
        Assert.Equal(["alt", "continued"], outcomes);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "EsiFragmentFailed" && r.Message.Contains("/frag/broken2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFailingFragment_FailsThePage_With502ProblemBeforeTheHead_OrAnIncompleteResponseAfterIt()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        // Known before the head: an include of a host the route does not allow.
        site.Page("/early", "a<esi:include src=\"http://elsewhere.example/x\"/>b");
        site.Page("/late", "a<esi:include src=\"/frag/broken\"/>b");
        site.Fragment("/frag/broken", "error page", status: 500);

        var early = await proxy.GetAsync("/early");
        Assert.Equal(HttpStatusCode.BadGateway, early.StatusCode);
        Assert.Equal("application/problem+json", early.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await early.Content.ReadAsStringAsync()))
        {
            Assert.Contains("elsewhere.example", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Known after it: the origin fails the fragment once the page's head has reached the client.
        site.Hold("/frag/broken");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/late");
        var late = await proxy.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        site.Release();
        var cut = await Record.ExceptionAsync(() => late.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.NotNull(cut); // the body ended short: the client sees an incomplete response, not a whole one
        Assert.IsNotType<TimeoutException>(cut);

        // With the route's choice of leaving a failed fragment out, both pages are served.
        await using var lenient = (await StartAsync(o => o.Routes["all"] = new RouteCacheOptions { Esi = { OnFragmentError = EsiFragmentFailure.Empty } })).Proxy;
        var lenientSite = new Site();
        lenient.Origin.Handler = lenientSite.Answer;
        lenientSite.Page("/early", "a<esi:include src=\"http://elsewhere.example/x\"/>b");
        lenientSite.Page("/late", "a<esi:include src=\"/frag/broken\"/>b");
        lenientSite.Fragment("/frag/broken", "error page", status: 500);
        Assert.Equal("ab", await (await lenient.GetAsync("/early")).Content.ReadAsStringAsync());
        Assert.Equal("ab", await (await lenient.GetAsync("/late")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OnRequest_EachFragmentsStatusIsNamedInTheHead()
    {
        var (proxy, site) = await StartAsync(o => o.Esi.FragmentStatus = true);
        await using var _ = proxy;
        site.Page("/page", "<esi:include src=\"/frag/a\"/><esi:include src=\"/frag/broken\" alt=\"/frag/alt\"/><esi:include src=\"/frag/gone\" onerror=\"continue\"/>");
        site.Fragment("/frag/a", "A");
        site.Fragment("/frag/alt", "ALT");
        site.Fragment("/frag/broken", "x", status: 500);
        site.Fragment("/frag/gone", "x", status: 404);

        var first = await proxy.GetAsync("/page");
        var second = await proxy.GetAsync("/page");

        Assert.Equal("AALT", await second.Content.ReadAsStringAsync());
        Assert.Equal(
            ["/frag/a; CacheProxy; fwd=miss; fwd-status=200; stored", "/frag/broken; alt; CacheProxy; fwd=miss; fwd-status=200; stored",
                "/frag/gone; continued; reason=status 404"],
            first.Headers.GetValues("CacheProxy-Fragment"));
        Assert.Equal(["/frag/a; CacheProxy; hit", "/frag/broken; alt; CacheProxy; hit", "/frag/gone; continued; reason=status 404"],
            second.Headers.GetValues("CacheProxy-Fragment"));
        Assert.Equal("no-store", first.Headers.CacheControl?.ToString()); // the left-out fragment is not known to be cacheable

        await using var off = (await StartAsync()).Proxy;
        var offSite = new Site();
        off.Origin.Handler = offSite.Answer;
        offSite.Page("/page", "<esi:include src=\"/frag/a\"/>");
        offSite.Fragment("/frag/a", "A");
        Assert.False((await off.GetAsync("/page")).Headers.Contains("CacheProxy-Fragment"));
    }

    [Fact]
    public async Task IncludesReachTheGatewaysProxiedRoutesOnly_NeverTheAppsOwnEndpoints()
    {
        var reached = 0;
        var (proxy, site) = await StartAsync(pipeline: app => app.MapGet("/internal/secret", () =>
        {
            Interlocked.Increment(ref reached);
            return "secret";
        }));
        await using var _ = proxy;
        site.Page("/page", "[<esi:include src=\"/internal/secret\" onerror=\"continue\"/>]");

        Assert.Equal("[]", await (await proxy.GetAsync("/page")).Content.ReadAsStringAsync());
        Assert.Equal(0, reached);
        Assert.Equal("secret", await (await proxy.GetAsync("/internal/secret")).Content.ReadAsStringAsync()); // it exists
    }

    [Fact]
    public async Task Loops_Depth_Count_AndBytes_EachHitTheirBound()
    {
        var (proxy, site) = await StartAsync(o =>
        {
            o.Esi.MaxDepth = 2;
            o.Esi.MaxFragments = 3;
            o.Esi.MaxAssembledBytes = 64 * 1024;
            o.Esi.OnFragmentError = EsiFragmentFailure.Empty;
        });
        await using var _ = proxy;
        using var fragments = proxy.Collect<long>("cacheproxy.esi.fragments");
        // A fragment that includes itself.
        site.Page("/loop", "(<esi:include src=\"/loop\"/>)");
        // Nesting: /d1 includes /d2 includes /d3 (one too deep).
        site.Page("/deep", "0<esi:include src=\"/d1\"/>");
        site.Page("/d1", "1<esi:include src=\"/d2\"/>");
        site.Page("/d2", "2<esi:include src=\"/d3\"/>");
        site.Page("/d3", "3");
        // Five includes, three allowed.
        site.Page("/many", string.Concat(Enumerable.Repeat("<esi:include src=\"/frag/one\"/>", 5)));
        site.Fragment("/frag/one", "1");
        // One fragment larger than the whole page's budget.
        site.Page("/big", "<esi:include src=\"/frag/big\"/>!");
        site.Fragment("/frag/big", new string('x', 100 * 1024));

        Assert.Equal("()", await (await proxy.GetAsync("/loop")).Content.ReadAsStringAsync());
        Assert.Equal("012", await (await proxy.GetAsync("/deep")).Content.ReadAsStringAsync());
        Assert.Equal("111", await (await proxy.GetAsync("/many")).Content.ReadAsStringAsync());
        Assert.Equal("!", await (await proxy.GetAsync("/big")).Content.ReadAsStringAsync());
        Assert.Equal(0, site.Count("/d3"));
        // A page with a thousand includes: three fetched, and the bound logged once, not once per include.
        site.Page("/thousand", string.Concat(Enumerable.Repeat("<esi:include src=\"/frag/one\"/>", 1000)));
        Assert.Equal("111", await (await proxy.GetAsync("/thousand")).Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Logs.GetSnapshot().Count(r => r.Id.Name == "EsiFragmentFailed" && r.Message.Contains("(count)", StringComparison.Ordinal)));
        var reasons = fragments.GetMeasurementSnapshot().Where(m => m.Tags.ContainsKey("reason")).Select(m => (string)m.Tags["reason"]!).ToHashSet();
        Assert.Superset(new HashSet<string> { "loop", "depth", "count", "bytes" }, reasons);
    }

    [Fact]
    public async Task AFragmentThatTakesTooLong_TimesOut_AndThePageIsServedWithoutIt()
    {
        var (proxy, site) = await StartAsync(o => o.Esi.FragmentTimeout = TimeSpan.FromSeconds(2));
        await using var _ = proxy;
        site.Page("/page", "a<esi:include src=\"/slow\" onerror=\"continue\"/>b");
        site.Hold("/slow");

        var page = proxy.GetAsync("/page");
        await Signal.WaitUntilAsync(() => site.Arrived == 1);
        proxy.Time.Advance(TimeSpan.FromSeconds(3));
        var response = await page.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("ab", await response.Content.ReadAsStringAsync());
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "EsiFragmentFailed" && r.Message.Contains("timeout", StringComparison.Ordinal));
        site.Release();
    }

    [Fact]
    public async Task PurgingAFragmentsTag_RefetchesThatFragmentOnly()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "<esi:include src=\"/frag/price\"/>|<esi:include src=\"/frag/stock\"/>");
        site.Fragment("/frag/price", "9.99", cacheControl: "max-age=3600", tag: "price");
        site.Fragment("/frag/stock", "in stock", cacheControl: "max-age=3600", tag: "stock");
        Assert.Equal("9.99|in stock", await (await proxy.GetAsync("/page")).Content.ReadAsStringAsync());

        site.Fragment("/frag/price", "8.99", cacheControl: "max-age=3600", tag: "price");
        Assert.Equal(HttpStatusCode.OK, (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "price" } })).StatusCode);
        var after = await proxy.GetAsync("/page");

        Assert.Equal("8.99|in stock", await after.Content.ReadAsStringAsync());
        Assert.Equal("CacheProxy; hit", after.CacheStatus());
        Assert.Equal(1, site.Count("/page"));
        Assert.Equal(2, site.Count("/frag/price"));
        Assert.Equal(1, site.Count("/frag/stock"));
    }

    [Fact]
    public async Task AnUncacheablePage_IsAssembledToo_HeadHasNoBody_AndRangeAndConditionalsAreAnsweredWhole()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/private", "p<esi:include src=\"/frag/a\"/>", cacheControl: "private");
        site.Page("/page", "p<esi:include src=\"/frag/a\"/>");
        site.Fragment("/frag/a", "A");

        Assert.Equal("pA", await (await proxy.GetAsync("/private")).Content.ReadAsStringAsync());
        Assert.Equal("pA", await (await proxy.GetAsync("/private")).Content.ReadAsStringAsync()); // hit-for-pass: passed, still assembled
        await proxy.GetAsync("/page");

        using var head = new HttpRequestMessage(HttpMethod.Head, "/page");
        var headResponse = await proxy.Client.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, headResponse.StatusCode);
        Assert.Equal(string.Empty, await headResponse.Content.ReadAsStringAsync());

        var ranged = await proxy.GetAsync("/page", ("Range", "bytes=0-0"), ("If-None-Match", "\"v1\""));
        Assert.Equal(HttpStatusCode.OK, ranged.StatusCode);
        Assert.Equal("pA", await ranged.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task APageAnotherInstanceStoredInRedisInChunks_IsAssembledWhole()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var site = new Site();
        origin.Handler = site.Answer;
        var filler = new string('x', 5000); // five 1 KiB chunks in Redis: the other instance streams the page's body
        site.Page("/page", filler + "<esi:include src=\"/frag/a\"/>" + filler);
        site.Fragment("/frag/a", "[A]");
        await using var a = await CacheProxy.Tests.Redis.RedisTierTests.GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024,
            configure: o => o.Esi.Enabled = true);
        await using var b = await CacheProxy.Tests.Redis.RedisTierTests.GatewayAsync(origin, redis.Endpoint, o => o.ChunkSize = 1024,
            configure: o => o.Esi.Enabled = true);
        await CacheProxy.Tests.Redis.RedisTierTests.WaitForRedisAsync(a);
        await CacheProxy.Tests.Redis.RedisTierTests.WaitForRedisAsync(b);

        Assert.Equal(filler + "[A]" + filler, await (await a.GetAsync("/page")).Content.ReadAsStringAsync());
        await CacheProxy.Tests.Redis.RedisTierTests.WaitForStoredAsync(a, 2); // the page and its fragment
        var fromRedis = await b.GetAsync("/page");
        var again = await b.GetAsync("/page");

        Assert.StartsWith("CacheProxy; hit", fromRedis.CacheStatus());
        Assert.Equal(filler + "[A]" + filler, await fromRedis.Content.ReadAsStringAsync());
        Assert.Equal(filler + "[A]" + filler, await again.Content.ReadAsStringAsync());
        Assert.Equal(1, site.Count("/page"));
        Assert.Equal(1, site.Count("/frag/a"));
    }

    [Fact]
    public async Task Includes_AreFetchedInParallel()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "<esi:include src=\"/slow/1\"/>|<esi:include src=\"/slow/2\"/>");
        site.Fragment("/slow/1", "one");
        site.Fragment("/slow/2", "two");
        // Both fragments are held until both have reached the origin: fetched one after the other, they never would.
        site.Hold("/slow");

        var page = proxy.GetAsync("/page");
        await Signal.WaitUntilAsync(() => site.Arrived == 2);
        site.Release();
        var response = await page.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("one|two", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AHostTheRouteAllows_IsFetchedThroughTheGateway_AndARouteCanTurnEsiOff()
    {
        var (proxy, site) = await StartAsync(o => o.Routes["all"] = new RouteCacheOptions { Esi = { AllowedHosts = ["static.example"] } });
        await using var _ = proxy;
        site.Page("/page", "[<esi:include src=\"http://static.example/frag/a\"/>]");
        site.Fragment("/frag/a", "A");

        Assert.Equal("[A]", await (await proxy.GetAsync("/page")).Content.ReadAsStringAsync());
        Assert.Equal(1, site.Count("/frag/a"));

        await using var off = (await StartAsync(o => o.Routes["all"] = new RouteCacheOptions { Esi = { Enabled = false } })).Proxy;
        var offSite = new Site();
        off.Origin.Handler = offSite.Answer;
        offSite.Page("/page", "[<esi:include src=\"/frag/a\"/>]");
        Assert.Equal("[<esi:include src=\"/frag/a\"/>]", await (await off.GetAsync("/page")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AFragmentWhoseOriginFails_IsServedStale_WhereStaleIfErrorAllows()
    {
        var (proxy, site) = await StartAsync();
        await using var _ = proxy;
        site.Page("/page", "price: <esi:include src=\"/frag/price\"/>", cacheControl: "max-age=3600");
        site.Fragment("/frag/price", "9.99", cacheControl: "max-age=10, stale-if-error=600");
        Assert.Equal("price: 9.99", await (await proxy.GetAsync("/page")).Content.ReadAsStringAsync());

        proxy.Time.Advance(TimeSpan.FromSeconds(30));
        site.Fragment("/frag/price", "down", cacheControl: "no-store", status: 503);
        var response = await proxy.GetAsync("/page");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("price: 9.99", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, site.Count("/frag/price"));
    }

    [Fact]
    public async Task APageLargerThanMaxObjectSize_CannotBeHeldToAssemble_AndIs502()
    {
        var (proxy, site) = await StartAsync(o => o.MaxObjectSize = 256);
        await using var _ = proxy;
        var big = new string('x', 1000) + "<esi:include src=\"/frag/a\"/>";
        site.Page("/public", big);
        site.Page("/private", big, cacheControl: "private");
        site.Fragment("/frag/a", "A");

        foreach (var path in new[] { "/public", "/private", "/private" }) // the second /private is hit-for-pass: held on the pass-through path
        {
            var response = await proxy.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(0, site.Count("/frag/a"));
    }
}
