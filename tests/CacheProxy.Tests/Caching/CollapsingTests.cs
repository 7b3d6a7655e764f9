using System.Net;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Caching;

/// <summary>One upstream fetch per key: for a miss, and for a stale response alike (<c>FetchCollapser</c>).</summary>
public sealed class CollapsingTests
{
    private const int Stampede = 20;

    /// <summary>An origin whose first answer is immediate and every later one waits for <paramref name="release"/>.</summary>
    private static Func<HttpContext, Task> SlowAfterFirst(TaskCompletionSource release, Func<HttpContext, Task> answer)
    {
        var calls = 0;
        return async c =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                await release.Task;
            }
            await answer(c);
        };
    }

    /// <summary>Many requests at once; when all but one wait for the one upstream, the origin answers it.</summary>
    private static async Task<HttpResponseMessage[]> StampedeAsync(ProxyFixture proxy, string path, TaskCompletionSource release)
    {
        var requests = Enumerable.Range(0, Stampede).Select(_ => proxy.GetAsync(path)).ToArray();
        await proxy.WaitForCollapseWaitersAsync(Stampede - 1);
        release.SetResult();
        return await Task.WhenAll(requests);
    }

    [Fact]
    public async Task StaleStampede_WithASlowOrigin_CostsOneRevalidation()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = SlowAfterFirst(release, c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("v1");
        });
        await proxy.GetAsync("/hot");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));

        var responses = await StampedeAsync(proxy, "/hot", release);

        Assert.Equal(2, proxy.Origin.Calls); // the first fill and one revalidation
        Assert.Equal("\"v1\"", proxy.Origin.Seen.Last().Headers["If-None-Match"]);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("v1", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(Stampede - 1, responses.Count(r => r.CacheStatus().Contains("detail=collapsed", StringComparison.Ordinal)));
        Assert.Single(responses, r => r.CacheStatus().Contains("fwd=stale; fwd-status=304", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WaitersReleasedByTheCollapseTimeout_SendOneMoreRequest_NotOneEach()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        proxy.Origin.Handler = async c =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await hung.Task; // the first fetch hangs past CollapseTimeout
            }
            c.Response.Headers.CacheControl = "max-age=60";
            await c.Response.WriteAsync("fresh");
        };
        var requests = Enumerable.Range(0, Stampede).Select(_ => proxy.GetAsync("/hung")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(Stampede - 1);

        proxy.Time.Advance(TimeSpan.FromSeconds(30)); // CollapseTimeout's default
        await Signal.WaitUntilAsync(() => requests.Count(r => r.IsCompleted) == Stampede - 1);

        Assert.Equal(2, proxy.Origin.Calls); // the hung fetch and one takeover; 20 on a collapser that lets every waiter go
        hung.SetResult();
        var responses = await Task.WhenAll(requests);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("fresh", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(Stampede - 2, responses.Count(r => r.CacheStatus().Contains("detail=collapsed", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenTheLeadingFetchTimesOut_ItsWaitersShareIts504_TheOriginIsAskedOnce()
    {
        var timeout = TimeSpan.FromSeconds(5); // below CollapseTimeout: the waiters are still waiting when it fires
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new CacheProxy.Configuration.RouteCacheOptions { ResponseHeadersTimeout = timeout });
        proxy.Origin.Handler = async c =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, c.RequestAborted); // hung until the gateway gives up
            }
            catch (OperationCanceledException)
            {
            }
        };
        var requests = Enumerable.Range(0, Stampede).Select(_ => proxy.GetAsync("/hung-origin")).ToArray();
        await proxy.WaitForCollapseWaitersAsync(Stampede - 1);
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1); // the leader's request is at the origin before its time runs out

        proxy.Time.Advance(timeout);
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, proxy.Origin.Calls); // 20 before: every waiter went upstream after the leader's 504
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("upstream-timeout", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(Stampede - 1, responses.Count(r => r.CacheStatus().Contains("detail=collapsed-error", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenTheOriginResetsTheLeadingFetch_ItsWaitersShareIts502_TheOriginIsAskedOnce()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            c.Abort(); // the connection reset before any response
        };

        var responses = await StampedeAsync(proxy, "/reset", release);

        Assert.Equal(1, proxy.Origin.Calls);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode));
        Assert.All(responses, r => Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType));
        Assert.Equal(Stampede - 1, responses.Count(r => r.CacheStatus().Contains("detail=collapsed-error", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenTheOriginAnswersTheLeadingFetchWithAnError_ItsWaitersStillAskItThemselves()
    {
        // An answer, even a 503, is the origin's to give to each request: its waiters are not held in a line behind
        // one another (Varnish's wait-list serialisation); only a fetch that got no answer is shared.
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = SlowAfterFirst(release, c =>
        {
            c.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return c.Response.WriteAsync("busy");
        });
        await proxy.GetAsync("/busy"); // the origin's first answer is immediate: the stampede's leader waits

        var responses = await StampedeAsync(proxy, "/busy", release);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.Equal(1 + Stampede, proxy.Origin.Calls);
    }

    [Fact]
    public async Task StaleStampede_WithoutAValidator_CostsOneRefetch()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var version = 0;
        proxy.Origin.Handler = SlowAfterFirst(release, c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            return c.Response.WriteAsync("v" + Interlocked.Increment(ref version));
        });
        await proxy.GetAsync("/hot");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));

        var responses = await StampedeAsync(proxy, "/hot", release);

        Assert.Equal(2, proxy.Origin.Calls);
        foreach (var response in responses)
        {
            Assert.Equal("v2", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task StaleStampede_WhenTheOriginFails_TheWaitersServeStale_AsStaleIfErrorAllows()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        proxy.Origin.Handler = SlowAfterFirst(release, c =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                c.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return c.Response.WriteAsync("down");
            }
            c.Response.Headers.CacheControl = "max-age=10, stale-if-error=600";
            return c.Response.WriteAsync("good");
        });
        await proxy.GetAsync("/hot");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));

        var responses = await StampedeAsync(proxy, "/hot", release);

        Assert.Equal(2, proxy.Origin.Calls);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("good", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(Stampede - 1, responses.Count(r => r.CacheStatus().Contains("detail=stale-if-error-collapsed", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task KnownVariants_CollapseEachOnTheirOwnKey()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = SlowAfterFirst(release, c =>
        {
            c.Response.Headers.CacheControl = "max-age=10";
            c.Response.Headers.Vary = "Accept-Language";
            return c.Response.WriteAsync("in " + c.Request.Headers.AcceptLanguage);
        });
        await proxy.GetAsync("/v", ("Accept-Language", "en")); // the Vary rule is known from here on

        var german = Enumerable.Range(0, 5).Select(_ => proxy.GetAsync("/v", ("Accept-Language", "de"))).ToArray();
        var french = Enumerable.Range(0, 5).Select(_ => proxy.GetAsync("/v", ("Accept-Language", "fr"))).ToArray();
        await proxy.WaitForCollapseWaitersAsync(8); // four of each wait for the fifth
        release.SetResult();
        await Task.WhenAll(german.Concat(french));

        Assert.Equal(3, proxy.Origin.Calls); // the English fill, one German and one French fetch
        Assert.All(german, r => Assert.Equal("in de", r.Result.Content.ReadAsStringAsync().Result));
        Assert.All(french, r => Assert.Equal("in fr", r.Result.Content.ReadAsStringAsync().Result));
    }
}
