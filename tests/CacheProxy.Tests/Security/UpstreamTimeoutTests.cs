using System.Net;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CacheProxy.Tests.Security;

/// <summary>
/// An upstream that is slow to send its headers holds a request for the route's ResponseHeadersTimeout at most, and
/// a destination gets a bounded number of connections (<c>UpstreamHttpClientFactory</c>).
/// </summary>
public sealed class UpstreamTimeoutTests
{
    private static readonly TimeSpan RouteTimeout = TimeSpan.FromSeconds(5);

    private static void FiveSecondRoute(CacheProxyOptions o) => o.Routes["all"] = new RouteCacheOptions { ResponseHeadersTimeout = RouteTimeout };

    /// <summary>An origin that never answers: it holds each request until the gateway gives up on it.</summary>
    private static async Task Hang(HttpContext c)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, c.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>SocketsHttpHandler counts a request as active before it waits for a connection (System.Net.Http meter).</summary>
    private static MetricCollector<long> ActiveRequests() => new(null, "System.Net.Http", "http.client.active_requests");

    /// <summary>The requests the proxy's client has active towards its origin, queued for a connection or sent.</summary>
    private static long ToOrigin(MetricCollector<long> active, ProxyFixture proxy) => active.GetMeasurementSnapshot()
        .Where(m => m.Tags.TryGetValue("server.port", out var port) && Equals(port, new Uri(proxy.Origin.Address).Port)).Sum(m => m.Value);

    [Fact]
    public async Task AnUpstreamSilentPastTheRoutesTimeout_Gets504ProblemJson_NamingThatTimeout()
    {
        await using var proxy = await ProxyFixture.StartAsync(FiveSecondRoute);
        proxy.Origin.Handler = Hang;

        var request = proxy.GetAsync("/silent");
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1);
        proxy.Time.Advance(RouteTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(request.IsCompleted);
        proxy.Time.Advance(TimeSpan.FromMilliseconds(1));
        var response = await request.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("upstream-timeout", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var logged = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UpstreamTimedOut");
        Assert.Contains("00:00:05", logged.Message, StringComparison.Ordinal);
        Assert.Equal(1, proxy.Origin.Calls); // not retried
    }

    [Fact]
    public async Task HeadersInTime_ABodySlowerThanTheTimeout_IsNotCut()
    {
        await using var proxy = await ProxyFixture.StartAsync(FiveSecondRoute);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            await c.Response.WriteAsync("first ");
            await c.Response.Body.FlushAsync();
            await rest.Task;
            await c.Response.WriteAsync("second");
        };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/slow-body");
        using var response = await proxy.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        proxy.Time.Advance(RouteTimeout * 3);
        rest.SetResult();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("first second", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ADestinationGetsAtMostMaxConnectionsPerServer_TheNextRequestQueuesForOne()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Upstream.MaxConnectionsPerServer = 2);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        proxy.Origin.Handler = async c =>
        {
            connections[c.Request.Path] = c.Connection.Id;
            if (c.Request.Path == "/held/1")
            {
                await release.Task;
            }
            else if (c.Request.Path == "/held/2")
            {
                await Hang(c);
                return;
            }
            await c.Response.WriteAsync("answered");
        };
        using var active = ActiveRequests();

        var held = new[] { proxy.GetAsync("/held/1"), proxy.GetAsync("/held/2") };
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 2);
        var next = proxy.GetAsync("/next");
        await Signal.WaitUntilAsync(() => ToOrigin(active, proxy) == 3);
        Assert.Equal(2, proxy.Origin.Calls);
        release.SetResult();

        Assert.Equal("answered", await (await next).Content.ReadAsStringAsync());
        Assert.Equal("answered", await (await held[0]).Content.ReadAsStringAsync());
        // It waited for the first connection to come free rather than opening a third one (which, unbounded, it
        // starts to open while /held/1 is still held).
        Assert.Equal(connections["/held/1"], connections["/next"]);
        Assert.Equal(2, connections.Values.Distinct().Count());
    }

    [Fact]
    public async Task ARequestQueuedForAConnection_IsBoundedByTheHeadersTimeout()
    {
        await using var proxy = await ProxyFixture.StartAsync(o =>
        {
            FiveSecondRoute(o);
            o.Upstream.MaxConnectionsPerServer = 1;
        });
        proxy.Origin.Handler = Hang;
        using var active = ActiveRequests();

        var held = proxy.GetAsync("/held");
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1);
        var queued = proxy.GetAsync("/queued");
        await Signal.WaitUntilAsync(() => ToOrigin(active, proxy) == 2);
        proxy.Time.Advance(RouteTimeout);
        var responses = await Task.WhenAll(held, queued).WaitAsync(TimeSpan.FromSeconds(30));

        // Both deadlines passed together: the queued request ends with its 504 whether or not the held one's
        // cancelled connection let it through to the origin meanwhile.
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode));
    }
}
