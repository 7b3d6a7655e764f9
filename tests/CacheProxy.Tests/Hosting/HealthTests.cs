using System.Net;
using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Tests.Hosting;

/// <summary>/health/live, /health/ready and /health on the management endpoint: what each checks, as JSON.</summary>
public sealed class HealthTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Json)> HealthAsync(ProxyFixture proxy, string path)
    {
        var response = await proxy.Client.GetAsync(path);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    /// <summary>An upstream whose probe path fails, with YARP's active health check on it (one failure is enough).</summary>
    private static ClusterConfig ProbedAt(ClusterConfig cluster) => cluster with
    {
        HealthCheck = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig { Enabled = true, Interval = TimeSpan.FromSeconds(10), Path = "/probe", Policy = "ConsecutiveFailures" },
            AvailableDestinationsPolicy = "HealthyOrPanic",
        },
        Metadata = new Dictionary<string, string> { ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1" },
    };

    /// <summary>An origin that serves cacheable content and fails the probe, already when YARP probes it first, at startup.</summary>
    private static async Task<TestOrigin> OriginFailingTheProbeAsync()
    {
        var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            if (c.Request.Path == "/probe")
            {
                c.Response.StatusCode = 500;
                return Task.CompletedTask;
            }
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("content");
        };
        return origin;
    }

    [Fact]
    public async Task Live_RunsNoCheck_Ready_ListsEachReadinessCheck_WithStatusAndDuration()
    {
        await using var proxy = await ProxyFixture.StartAsync(mapManagement: true);

        var (liveStatus, live) = await HealthAsync(proxy, "/health/live");
        var (readyStatus, ready) = await HealthAsync(proxy, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal("Healthy", live.GetProperty("status").GetString());
        Assert.Empty(live.GetProperty("checks").EnumerateObject());
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Equal(["configuration", "draining", "maintenance", "upstream", "upstream-certificates", "warming"], checks.EnumerateObject().Select(c => c.Name).Order());
        Assert.All(checks.EnumerateObject(), c =>
        {
            Assert.Equal("Healthy", c.Value.GetProperty("status").GetString());
            Assert.True(c.Value.GetProperty("durationMs").GetDouble() >= 0);
        });
        Assert.Equal("1/1 destinations available", checks.GetProperty("upstream").GetProperty("data").GetProperty("origin").GetString());
        Assert.Equal(1, checks.GetProperty("configuration").GetProperty("data").GetProperty("routes").GetInt32());
    }

    [Fact]
    public async Task Ready_Is503_WhenTheUpstreamFailsYarpsActiveHealthCheck_WhileStoredResponsesAreStillServed()
    {
        await using var origin = await OriginFailingTheProbeAsync();
        await using var proxy = await ProxyFixture.StartAsync(mapManagement: true, cluster: ProbedAt, sharedOrigin: origin);

        await Signal.WaitUntilAsync(async () => (await proxy.Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable);
        var (_, ready) = await HealthAsync(proxy, "/health/ready");
        var (liveStatus, _) = await HealthAsync(proxy, "/health/live");
        await proxy.GetAsync("/page"); // HealthyOrPanic: YARP still forwards when no destination is healthy
        var hit = await proxy.GetAsync("/page");

        var upstream = ready.GetProperty("checks").GetProperty("upstream");
        Assert.Equal("Unhealthy", upstream.GetProperty("status").GetString());
        Assert.Equal("0/1 destinations available", upstream.GetProperty("data").GetProperty("origin").GetString());
        Assert.Equal(HttpStatusCode.OK, liveStatus); // alive all the same: a restart would not help
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
    }

    [Fact]
    public async Task ADeadUpstream_IsOnlyDegraded_WhenReadinessDoesNotRequireIt()
    {
        await using var origin = await OriginFailingTheProbeAsync();
        await using var proxy = await ProxyFixture.StartAsync(o => o.Health.RequireHealthyUpstream = false, mapManagement: true, cluster: ProbedAt, sharedOrigin: origin);

        await Signal.WaitUntilAsync(async () => (await HealthAsync(proxy, "/health/ready")).Json.GetProperty("status").GetString() == "Degraded");
        var (status, _) = await HealthAsync(proxy, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task OnceTheHostIsStopping_ReadyIs503_AndEveryResponseClosesItsConnection()
    {
        await using var proxy = await ProxyFixture.StartAsync(mapManagement: true);
        var before = await proxy.GetAsync("/page");

        proxy.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication(); // what SIGTERM raises first
        var (readyStatus, ready) = await HealthAsync(proxy, "/health/ready");
        var during = await proxy.GetAsync("/page");

        Assert.NotEqual(true, before.Headers.ConnectionClose);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
        Assert.Equal("Unhealthy", ready.GetProperty("checks").GetProperty("draining").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, during.StatusCode); // still serving
        Assert.True(during.Headers.ConnectionClose);
        await proxy.WaitForLogAsync("DrainStarted");
    }
}
