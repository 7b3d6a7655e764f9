using System.Diagnostics.Metrics;
using System.Net;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Builder;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Newtonsoft.Json.Linq;
using Snapshooter.Xunit;

namespace CacheProxy.Tests.Diagnostics;

/// <summary>Errors the proxy itself produces: status, problem+json body, log event, metric, and nothing cached.</summary>
public sealed class ErrorResponseTests
{
    private static MetricCollector<long> Errors(ProxyFixture proxy) =>
        new(proxy.Services.GetRequiredService<IMeterFactory>(), CacheProxyTelemetry.MeterName, "cacheproxy.errors");

    private static async Task<JObject> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JObject.Parse(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UpstreamDown_Is502Problem_Logged_Counted()
    {
        var closedPort = GatewayProcess.FreePort();
        await using var proxy = await ProxyFixture.StartAsync(upstream: $"http://127.0.0.1:{closedPort}/");
        using var errors = Errors(proxy);

        var response = await proxy.GetAsync("/down", ("X-Request-ID", "req-502"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await ProblemAsync(response);
        Snapshot.Match(problem, o => o.IgnoreField("traceId"));
        Assert.Equal("req-502", response.Header("X-Request-ID"));
        var log = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UpstreamUnreachable");
        Assert.Equal("CacheProxy.Upstream", log.Category);
        Assert.Contains($"127.0.0.1:{closedPort}", log.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"{closedPort}", problem.ToString(), StringComparison.Ordinal); // no upstream address for clients
        var measured = Assert.Single(errors.GetMeasurementSnapshot());
        Assert.Equal("upstream-connect", measured.Tags["category"]);
    }

    [Fact]
    public async Task UpstreamTimeout_Is504Problem_NamingTheTimeoutInTheLog()
    {
        var never = new TaskCompletionSource();
        await using var proxy = await ProxyFixture.StartAsync(activityTimeout: TimeSpan.FromMilliseconds(200));
        proxy.Origin.Handler = async c => await never.Task.WaitAsync(c.RequestAborted);
        using var errors = Errors(proxy);

        var response = await proxy.GetAsync("/slow", ("X-Request-ID", "req-504"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Snapshot.Match(await ProblemAsync(response), o => o.IgnoreField("traceId"));
        var log = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UpstreamTimedOut");
        Assert.Contains("00:00:00.2", log.Message, StringComparison.Ordinal);
        Assert.Equal("upstream-timeout", Assert.Single(errors.GetMeasurementSnapshot()).Tags["category"]);
    }

    [Fact]
    public async Task UpstreamCuttingTheBody_IsLogged_Counted_AndNeverCached()
    {
        await using var origin = new TruncatingOrigin();
        await using var proxy = await ProxyFixture.StartAsync(upstream: origin.Address);
        using var errors = Errors(proxy);

        for (var i = 0; i < 2; i++)
        {
            try
            {
                await (await proxy.GetAsync("/cut")).Content.ReadAsByteArrayAsync();
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                // the proxy aborts the client connection: the body cannot be completed
            }
        }

        await proxy.WaitForLogAsync("UpstreamProtocolError", 2); // logged once the aborted response is over
        await proxy.WaitForLogAsync("IncompleteBodyNotStored", 2);
        Assert.Equal(2, origin.Calls);
        Assert.All(proxy.Logs.GetSnapshot().Where(r => r.Id.Name == "UpstreamProtocolError"), r => Assert.Equal("CacheProxy.Upstream", r.Category));
        Assert.All(errors.GetMeasurementSnapshot(), m => Assert.Equal("upstream-protocol", m.Tags["category"]));
        Assert.Equal(2, errors.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task OnlyIfCachedMiss_Is504Problem()
    {
        await using var proxy = await ProxyFixture.StartAsync();

        var response = await proxy.GetAsync("/nothing", ("Cache-Control", "only-if-cached"), ("X-Request-ID", "req-oic"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Snapshot.Match(await ProblemAsync(response), o => o.IgnoreField("traceId"));
        Assert.Contains("only-if-cached", response.CacheStatus());
        Assert.Equal(0, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ErrorFeature_ReachesTheHostingApp()
    {
        ICacheProxyErrorFeature? seen = null;
        var closedPort = GatewayProcess.FreePort();
        await using var proxy = await ProxyFixture.StartAsync(upstream: $"http://127.0.0.1:{closedPort}/",
            earlyPipeline: app => app.Use(async (HttpContext context, RequestDelegate next) =>
            {
                await next(context);
                seen = context.Features.Get<ICacheProxyErrorFeature>();
            }));

        await proxy.GetAsync("/feature");

        Assert.NotNull(seen);
        Assert.Equal(CacheProxyError.UpstreamUnreachable, seen.Error);
        Assert.Equal(ErrorCategory.UpstreamConnect, seen.Category);
        Assert.NotNull(seen.Exception);
    }

    [Fact]
    public async Task StaleServedOnError_IsNotTurnedIntoAProblem()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=1, stale-if-error=60";
            return c.Response.WriteAsync("stale but good");
        };
        await proxy.GetAsync("/s");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        var response = await proxy.GetAsync("/s");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stale but good", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UpstreamSendingInvalidHeaders_Is502UpstreamProtocolProblem()
    {
        await using var origin = new TruncatingOrigin("HTTP/1.1 200 OK\r\nBad Header Without Colon\r\nContent-Length: 2\r\n\r\nok");
        await using var proxy = await ProxyFixture.StartAsync(upstream: origin.Address);
        using var errors = Errors(proxy);

        var response = await proxy.GetAsync("/invalid");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream-protocol", (string?)(await ProblemAsync(response))["category"]);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UpstreamProtocolError");
        Assert.Equal("upstream-protocol", Assert.Single(errors.GetMeasurementSnapshot()).Tags["category"]);
    }
}
