using System.Net;
using System.Net.Http.Headers;
using CacheProxy.Caching;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Caching;

/// <summary>RFC 9111 behaviour through the real middleware, YARP and a real origin that counts its calls.</summary>
public sealed class CachingBehaviourTests
{
    private static Func<HttpContext, Task> Respond(string cacheControl, string body = "body", Action<HttpResponse>? more = null) => c =>
    {
        c.Response.Headers.CacheControl = cacheControl;
        more?.Invoke(c.Response);
        return c.Response.WriteAsync(body);
    };

    [Fact]
    public async Task FreshEntry_BecomesStale_WhenMaxAgePasses_Rfc9111_4_2()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=10");

        await proxy.GetAsync("/x");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        var hit = await proxy.GetAsync("/x");
        proxy.Time.Advance(TimeSpan.FromSeconds(6));
        var miss = await proxy.GetAsync("/x");

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.True(hit.Headers.Age >= TimeSpan.FromSeconds(5));
        Assert.Contains("fwd=stale", miss.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Theory]
    [InlineData("max-age=600", 1)] // CDN-Cache-Control governs: stored despite Cache-Control: no-store
    [InlineData("max-age=600, &&&&&", 2)] // not a Structured Field Dictionary: ignored, no-store applies
    [InlineData("max-age=\"600\"", 2)] // max-age is not an Integer: ignored, and the field still governs
    public async Task CdnCacheControl_GovernsOnlyWhenItParses_Rfc9213_2(string cdn, int originCalls)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("no-store", more: r => r.Headers["CDN-Cache-Control"] = cdn);

        await proxy.GetAsync("/cdn");
        await proxy.GetAsync("/cdn");

        Assert.Equal(originCalls, proxy.Origin.Calls);
    }

    [Theory]
    [InlineData("no-store, max-age=60")]
    [InlineData("private, max-age=60")]
    public async Task NoStoreAndPrivate_AreNeverStored_Rfc9111_5_2_2(string cacheControl)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond(cacheControl);

        await proxy.GetAsync("/x");
        var second = await proxy.GetAsync("/x");

        Assert.Equal(2, proxy.Origin.Calls);
        Assert.DoesNotContain("stored", second.CacheStatus());
    }

    [Theory]
    [InlineData(200, 1)] // a status whose caching rules we implement: the no-store beside must-understand is ignored
    [InlineData(299, 2)] // a status we do not know: not stored at all
    public async Task MustUnderstand_OverridesNoStore_OnlyForUnderstoodStatusCodes_Rfc9111_5_2_2_3(int status, int originCalls)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = status;
            return Respond("max-age=3600, no-store, must-understand")(c);
        };

        await proxy.GetAsync("/mu");
        var second = await proxy.GetAsync("/mu");

        Assert.Equal(originCalls, proxy.Origin.Calls);
        Assert.Equal(status, (int)second.StatusCode);
    }

    [Fact]
    public async Task PrivateWithFieldNames_IsStoredWithoutThoseFields_Rfc9111_5_2_2_7()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("private=\"X-User\", max-age=60", more: r => r.Headers["X-User"] = "alice");

        var first = await proxy.GetAsync("/x");
        var second = await proxy.GetAsync("/x");

        Assert.Equal("alice", first.Header("X-User"));
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.Null(second.Header("X-User"));
    }

    [Fact]
    public async Task RequestWithAuthorization_IsNotStored_UnlessExplicitlyAllowed_Rfc9111_3_5()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c => Respond(c.Request.Path == "/public" ? "public, max-age=60" : "max-age=60")(c);

        await proxy.GetAsync("/plain", ("Authorization", "Bearer a"));
        await proxy.GetAsync("/plain", ("Authorization", "Bearer a"));
        await proxy.GetAsync("/public", ("Authorization", "Bearer a"));
        var hit = await proxy.GetAsync("/public", ("Authorization", "Bearer a"));

        Assert.Equal(3, proxy.Origin.Calls);
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
    }

    [Fact]
    public async Task Vary_KeepsOneVariantPerRequestHeaderValue_Rfc9111_4_1()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c => Respond("max-age=60", "lang=" + c.Request.Headers.AcceptLanguage, r => r.Headers.Vary = "Accept-Language")(c);

        var en = await proxy.GetAsync("/v", ("Accept-Language", "en"));
        var de = await proxy.GetAsync("/v", ("Accept-Language", "de"));
        var enAgain = await proxy.GetAsync("/v", ("Accept-Language", "en"));
        var deAgain = await proxy.GetAsync("/v", ("Accept-Language", "de"));

        Assert.Equal(2, proxy.Origin.Calls);
        Assert.Contains("fwd=vary-miss", de.CacheStatus());
        Assert.Equal("lang=en", await enAgain.Content.ReadAsStringAsync());
        Assert.Equal("lang=de", await deAgain.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", enAgain.CacheStatus());
        Assert.Equal(HttpStatusCode.OK, en.StatusCode);
    }

    [Theory]
    [InlineData("Accept-Language", "en, de", "EN,De", true)] // language ranges are case-insensitive
    [InlineData("Accept-Charset", "utf-8", "UTF-8", true)]
    [InlineData("Accept-Encoding", "gzip, br", "GZIP,  br", true)]
    [InlineData("X-Custom", "abc", "ABC", false)] // an unknown field's case may matter
    [InlineData("Accept-Language", "en, de", "de, en", false)] // order is not normalised
    public async Task VaryValues_ThatMeanTheSame_MatchTheStoredVariant_Rfc9111_4_1(string field, string stored, string asked, bool hit)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", more: r => r.Headers.Vary = field);

        await proxy.GetAsync("/v", (field, stored));
        var second = await proxy.GetAsync("/v", (field, asked));

        Assert.Equal(hit, second.CacheStatus().StartsWith("CacheProxy; hit", StringComparison.Ordinal));
        Assert.Equal(hit ? 1 : 2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task VaryStar_NeverMatches_Rfc9111_4_1()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", more: r => r.Headers.Vary = "*");

        await proxy.GetAsync("/v");
        await proxy.GetAsync("/v");

        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task VariantsPerUrl_AreBounded_OldestDropped()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = 2);
        proxy.Origin.Handler = Respond("max-age=60", more: r => r.Headers.Vary = "X-V");

        foreach (var v in new[] { "1", "2", "3" })
        {
            await proxy.GetAsync("/v", ("X-V", v));
        }
        await proxy.GetAsync("/v", ("X-V", "3"));
        await proxy.GetAsync("/v", ("X-V", "1"));

        Assert.Equal(4, proxy.Origin.Calls); // 3 was still stored, 1 had been dropped
    }

    [Fact]
    public async Task StaleEntry_IsRevalidatedWithItsETag_And304RefreshesIt_Rfc9111_4_3()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.ETag = "\"v1\"";
            c.Response.Headers["X-Version"] = proxy.Origin.Calls.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                c.Response.StatusCode = 304;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("payload");
        };

        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(11));
        var revalidated = await proxy.GetAsync("/e");
        var hit = await proxy.GetAsync("/e");

        Assert.Equal("\"v1\"", proxy.Origin.Seen.Last().Headers["If-None-Match"]);
        Assert.Equal(HttpStatusCode.OK, revalidated.StatusCode);
        Assert.Equal("payload", await revalidated.Content.ReadAsStringAsync());
        Assert.Contains("fwd=stale; fwd-status=304", revalidated.CacheStatus());
        Assert.Equal("2", revalidated.Header("X-Version")); // header updated from the 304 (RFC 9111 §4.3.4)
        Assert.NotNull(revalidated.Header("X-Request-ID")); // the request's own id, though the 304's fields were dropped
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ClientConditionalRequest_IsAnswered304_FromAFreshEntry_Rfc9111_4_3_2()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", more: r => r.Headers.ETag = "\"abc\"");

        await proxy.GetAsync("/c");
        var notModified = await proxy.GetAsync("/c", ("If-None-Match", "\"abc\""));

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"abc\"", notModified.Headers.ETag?.ToString());
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task RequestNoCache_ForcesAnUpstreamRequest_Rfc9111_5_2_1_4()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60");

        await proxy.GetAsync("/n");
        var forced = await proxy.GetAsync("/n", ("Cache-Control", "no-cache"));
        var pragma = await proxy.GetAsync("/n", ("Pragma", "no-cache"));

        Assert.Contains("fwd=request", forced.CacheStatus());
        Assert.Contains("fwd=request", pragma.CacheStatus());
        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Fact]
    public async Task RequestMaxAgeAndMinFresh_LimitReuse_Rfc9111_5_2_1()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=100");

        await proxy.GetAsync("/m");
        proxy.Time.Advance(TimeSpan.FromSeconds(50));
        await proxy.GetAsync("/m", ("Cache-Control", "max-age=10"));
        Assert.Equal(2, proxy.Origin.Calls);
        proxy.Time.Advance(TimeSpan.FromSeconds(50));
        await proxy.GetAsync("/m", ("Cache-Control", "min-fresh=60"));
        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Fact]
    public async Task MaxStale_AcceptsAStaleEntry_UnlessMustRevalidate_Rfc9111_5_2_1_2()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c => Respond(c.Request.Path == "/strict" ? "max-age=1, must-revalidate" : "max-age=1")(c);

        await proxy.GetAsync("/loose");
        await proxy.GetAsync("/strict");
        proxy.Time.Advance(TimeSpan.FromSeconds(30));
        var loose = await proxy.GetAsync("/loose", ("Cache-Control", "max-stale=60"));
        var strict = await proxy.GetAsync("/strict", ("Cache-Control", "max-stale=60"));

        Assert.Contains("hit; detail=max-stale", loose.CacheStatus());
        Assert.DoesNotContain("hit", strict.CacheStatus());
        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Fact]
    public async Task OnlyIfCached_Answers504_WhenNothingIsStored_Rfc9111_5_2_1_7()
    {
        await using var proxy = await ProxyFixture.StartAsync();

        var response = await proxy.GetAsync("/o", ("Cache-Control", "only-if-cached"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(0, proxy.Origin.Calls);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task UnsafeMethod_InvalidatesTheTargetUri_Rfc9111_4_4(string method)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c => HttpMethods.IsGet(c.Request.Method) ? Respond("max-age=60")(c) : c.Response.WriteAsync("done");

        await proxy.GetAsync("/r");
        using var unsafeRequest = new HttpRequestMessage(new HttpMethod(method), "/r") { Content = new StringContent("x") };
        var unsafeResponse = await proxy.Client.SendAsync(unsafeRequest);
        var after = await proxy.GetAsync("/r");

        Assert.Equal("done", await unsafeResponse.Content.ReadAsStringAsync());
        Assert.Contains("fwd=miss", after.CacheStatus());
        Assert.Equal(3, proxy.Origin.Calls);
        Assert.Equal(method, proxy.Origin.Seen.ElementAt(1).Method);
    }

    [Fact]
    public async Task UnsafeMethod_InvalidatesSameOriginLocation_ButNotOnError_Rfc9111_4_4()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            if (HttpMethods.IsGet(c.Request.Method))
            {
                return Respond("max-age=60")(c);
            }
            c.Response.StatusCode = c.Request.Path == "/fail" ? 500 : 201;
            c.Response.Headers.Location = "/created";
            return Task.CompletedTask;
        };

        await proxy.GetAsync("/created");
        await proxy.Client.PostAsync("/fail", new StringContent("x"));
        var stillCached = await proxy.GetAsync("/created");
        await proxy.Client.PostAsync("/items", new StringContent("x"));
        var invalidated = await proxy.GetAsync("/created");

        Assert.StartsWith("CacheProxy; hit", stillCached.CacheStatus());
        Assert.Contains("fwd=miss", invalidated.CacheStatus());
    }

    [Fact]
    public async Task Head_IsAnsweredFromAStoredGet()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", "twelve bytes");

        await proxy.GetAsync("/h");
        var head = await proxy.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/h"));

        Assert.StartsWith("CacheProxy; hit", head.CacheStatus());
        Assert.Equal(12, head.Content.Headers.ContentLength);
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task Range_IsServedAs206_FromAStoredComplete200()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", "0123456789");

        await proxy.GetAsync("/r");
        var partial = await proxy.GetAsync("/r", ("Range", "bytes=2-4"));
        var unsatisfiable = await proxy.GetAsync("/r", ("Range", "bytes=50-"));

        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("234", await partial.Content.ReadAsStringAsync());
        Assert.Equal("bytes 2-4/10", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ObjectOverTheMaximumSize_IsStreamedWhole_ButNotStored_LoggedAndCounted()
    {
        // Hit-for-pass off: both responses are weighed (HitForPassTests: with it, the second is passed without capture).
        await using var proxy = await ProxyFixture.StartAsync(o => (o.MaxObjectSize, o.HitForPassTtl) = (1000, TimeSpan.Zero));
        using var tooLarge = proxy.Collect<long>("cacheproxy.too_large");
        var big = new string('x', 5000);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.ContentLength = big.Length;
            return c.Response.WriteAsync(big);
        };

        var first = await proxy.GetAsync("/big");
        var second = await proxy.GetAsync("/big");

        Assert.Equal(big, await first.Content.ReadAsStringAsync());
        Assert.Equal(big, await second.Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Origin.Calls);
        // The origin sent Content-Length: the cache knew before the first byte and says so (RFC 9211 "stored").
        Assert.Equal("CacheProxy; fwd=miss; fwd-status=200", first.CacheStatus());
        await proxy.WaitForLogAsync("ResponseNotStored", 2);
        Assert.Contains("MaxObjectSize", proxy.Logs.GetSnapshot().First(r => r.Id.Name == "ResponseNotStored").Message, StringComparison.Ordinal);
        Assert.Equal(2, tooLarge.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task AChunkedObjectOverTheMaximumSize_IsStreamedWhole_ButNotStored_LoggedAndCounted()
    {
        // Hit-for-pass off: both responses are weighed (HitForPassTests: with it, the second is passed without capture).
        await using var proxy = await ProxyFixture.StartAsync(o => (o.MaxObjectSize, o.HitForPassTtl) = (1000, TimeSpan.Zero));
        using var tooLarge = proxy.Collect<long>("cacheproxy.too_large");
        proxy.Origin.Handler = async c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            for (var i = 0; i < 5; i++)
            {
                await c.Response.WriteAsync(new string('x', 1000)); // no Content-Length: chunked
                await c.Response.Body.FlushAsync();
            }
        };

        var first = await proxy.GetAsync("/big");
        await proxy.GetAsync("/big");

        Assert.Equal(5000, (await first.Content.ReadAsStringAsync()).Length);
        Assert.Equal(2, proxy.Origin.Calls);
        await proxy.WaitForLogAsync("ResponseNotStored", 2);
        Assert.Equal(2, tooLarge.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task BodyCutShortByTheOrigin_IsNeverStored()
    {
        await using var origin = new TruncatingOrigin();
        await using var proxy = await ProxyFixture.StartAsync(upstream: origin.Address);

        var first = await ReadOrFailAsync(proxy, "/cut");
        var second = await ReadOrFailAsync(proxy, "/cut");

        Assert.NotEqual(100, first.Length);
        Assert.DoesNotContain("hit", second.Status);
        Assert.Equal(2, origin.Calls);
    }

    [Fact]
    public async Task HopByHopAndConnectionListedFields_AreNotReplayed_Rfc9110_7_6_1()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=60", more: r =>
        {
            r.Headers.Connection = "X-Hop";
            r.Headers["X-Hop"] = "1";
            r.Headers["X-Kept"] = "2";
        });

        var first = await proxy.GetAsync("/hop");
        var hit = await proxy.GetAsync("/hop");

        Assert.Null(first.Header("X-Hop"));
        Assert.Null(hit.Header("X-Hop"));
        Assert.Equal("2", hit.Header("X-Kept"));
    }

    [Fact]
    public async Task HeuristicFreshness_AppliesToA200WithLastModified_Rfc9111_4_2_2()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.LastModified = proxy.Time.GetUtcNow().AddDays(-10).ToString("r");
            return c.Response.WriteAsync("x");
        };

        await proxy.GetAsync("/lm");
        var hit = await proxy.GetAsync("/lm");

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
    }

    [Fact]
    public async Task StaleWhileRevalidate_ServesStale_AndRefreshesOnceInTheBackground_Rfc5861_3()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var version = 0;
        proxy.Origin.Handler = c => Respond("max-age=10, stale-while-revalidate=60", "v" + Interlocked.Increment(ref version))(c);

        await proxy.GetAsync("/s");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));
        var stale = await proxy.GetAsync("/s");
        await proxy.WaitForRefreshesAsync();
        var fresh = await proxy.GetAsync("/s");

        Assert.Equal("v1", await stale.Content.ReadAsStringAsync());
        Assert.Contains("stale-while-revalidate", stale.CacheStatus());
        Assert.Equal("v2", await fresh.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", fresh.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task StaleIfError_ServesStale_WhenTheOriginAnswers5xx_Rfc5861_4()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=1, stale-if-error=60", "good");

        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = 503;
            return c.Response.WriteAsync("down");
        };
        var response = await proxy.GetAsync("/e");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("good", await response.Content.ReadAsStringAsync());
        Assert.Contains("stale-if-error", response.CacheStatus());
    }

    /// <summary>
    /// Regression: a stale response with a validator is validated with the stored ETag in place of the client's
    /// conditions; when the origin failed and the stale response answered, our If-None-Match was still on the request,
    /// so a client that asked nothing conditional got a 304 without a body.
    /// </summary>
    [Fact]
    public async Task StaleIfError_OfAResponseWithAValidator_AnswersTheClientsOwnConditionsOnly()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=1, stale-if-error=60", "good", r => r.Headers.ETag = "\"v1\"");

        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = 503;
            return c.Response.WriteAsync("down");
        };
        var unconditional = await proxy.GetAsync("/e");
        var conditional = await proxy.GetAsync("/e", ("If-None-Match", "\"v1\""));

        Assert.Equal("\"v1\"", proxy.Origin.Seen.Last().Headers["If-None-Match"]); // validated with the stored ETag
        Assert.Equal(HttpStatusCode.OK, unconditional.StatusCode);
        Assert.Equal("good", await unconditional.Content.ReadAsStringAsync());
        Assert.Contains("stale-if-error", unconditional.CacheStatus());
        Assert.Equal(HttpStatusCode.NotModified, conditional.StatusCode);
    }

    [Fact]
    public async Task ServesStale_WhenUpstreamUnreachable_Rfc9111_4_2_4()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond("max-age=1", "good");
        await proxy.GetAsync("/u");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        var response = await proxy.GetAsync("/u");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("good", await response.Content.ReadAsStringAsync());
        Assert.Contains("detail=upstream-unreachable", response.CacheStatus());
    }

    [Theory]
    [InlineData("max-age=1, must-revalidate")]
    [InlineData("max-age=1, proxy-revalidate")]
    [InlineData("s-maxage=1")]
    [InlineData("max-age=1, no-cache")]
    public async Task DoesNotServeStale_WhenMustRevalidateOrKinForbid_Rfc9111_4_2_4(string cacheControl)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Respond(cacheControl + ", stale-if-error=60", "good");
        await proxy.GetAsync("/u");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        var response = await proxy.GetAsync("/u");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task ConcurrentMisses_CollapseIntoOneUpstreamRequest()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource();
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            await Respond("max-age=60", "shared")(c);
        };

        var requests = Enumerable.Range(0, 5).Select(_ => proxy.GetAsync("/collapse")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(4);
        release.SetResult();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, proxy.Origin.Calls);
        foreach (var r in responses)
        {
            Assert.Equal("shared", await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(4, responses.Count(r => r.CacheStatus().Contains("collapsed", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CollapsedWaiters_GoUpstreamThemselves_WhenTheResponseIsNotStorable()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource();
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            await Respond("private")(c);
        };

        var requests = Enumerable.Range(0, 3).Select(_ => proxy.GetAsync("/p")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(2);
        release.SetResult();
        await Task.WhenAll(requests);

        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Fact]
    public async Task RoutePolicy_CanTurnCachingOff_OrOverrideFreshness()
    {
        await using var off = await ProxyFixture.StartAsync(o => o.Routes["all"] = new CacheProxy.Configuration.RouteCacheOptions { Enabled = false });
        off.Origin.Handler = Respond("max-age=60");
        await off.GetAsync("/x");
        var bypass = await off.GetAsync("/x");
        Assert.Equal(2, off.Origin.Calls);
        Assert.Contains("fwd=bypass", bypass.CacheStatus());

        await using var ttl = await ProxyFixture.StartAsync(o => o.Routes["all"] = new CacheProxy.Configuration.RouteCacheOptions { Ttl = TimeSpan.FromSeconds(30) });
        ttl.Origin.Handler = c => c.Response.WriteAsync("no caching headers");
        await ttl.GetAsync("/y");
        var hit = await ttl.GetAsync("/y");
        ttl.Time.Advance(TimeSpan.FromSeconds(31));
        await ttl.GetAsync("/y");
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal(2, ttl.Origin.Calls);
    }

    [Fact]
    public async Task RoutePolicy_DoesNotOverrideNoStore()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new CacheProxy.Configuration.RouteCacheOptions { Ttl = TimeSpan.FromSeconds(30) });
        proxy.Origin.Handler = Respond("no-store");
        await proxy.GetAsync("/z");
        await proxy.GetAsync("/z");
        Assert.Equal(2, proxy.Origin.Calls);
    }

    private static async Task<(int Length, string Status)> ReadOrFailAsync(ProxyFixture proxy, string path)
    {
        try
        {
            var response = await proxy.GetAsync(path);
            return ((await response.Content.ReadAsByteArrayAsync()).Length, response.CacheStatus());
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (-1, string.Empty); // the proxy aborted the client connection: the body was incomplete
        }
    }
}
