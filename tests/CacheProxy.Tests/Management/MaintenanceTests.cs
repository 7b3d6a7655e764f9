using System.Net;
using System.Text.Json;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Management;

/// <summary>Maintenance mode on one instance: what is served, what is refused, who passes, how it is switched.</summary>
public sealed class MaintenanceTests
{
    private static Task<ProxyFixture> StartAsync(Action<CacheProxyOptions>? configure = null) =>
        ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            configure?.Invoke(o);
        }, mapManagement: true,
            // TestServer has no client address: this one is taken from a test header, as a real connection would give it.
            earlyPipeline: app => app.Use((context, next) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(context.Request.Headers["X-Test-Client"].FirstOrDefault() ?? "203.0.113.9");
                return next(context);
            }));

    /// <summary>Fresh for the seconds in the path's first segment (<c>/60/…</c>), with <c>must-revalidate</c> when the path says so.</summary>
    private static Task Origin(HttpContext c)
    {
        var seconds = c.Request.Path.Value!.Split('/')[1];
        c.Response.Headers.CacheControl = $"max-age={seconds}" + (c.Request.Path.Value.Contains("must", StringComparison.Ordinal) ? ", must-revalidate" : string.Empty);
        return c.Response.WriteAsync("content of " + c.Request.Path);
    }

    /// <summary>POST /maintenance with the key, from loopback (the management plane's default network).</summary>
    private static Task<HttpResponseMessage> SwitchAsync(ProxyFixture proxy, object body) => SendSwitchAsync(proxy, JsonSerializer.Serialize(body));

    private static async Task<HttpResponseMessage> SendSwitchAsync(ProxyFixture proxy, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/maintenance") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", PurgeTests.Key);
        request.Headers.Add("X-Test-Client", "127.0.0.1");
        return await proxy.Client.SendAsync(request);
    }

    [Fact]
    public async Task WhileOn_StoredResponsesAreServed_EvenStale_AndEverythingElseIs503WithRetryAfter_WithoutTouchingTheOrigin()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Origin;
        foreach (var path in new[] { "/60/fresh", "/1/stale", "/1/must" })
        {
            await proxy.GetAsync(path);
        }
        await proxy.WaitForLogAsync("ResponseStored", 3);
        proxy.Time.Advance(TimeSpan.FromSeconds(30));
        var callsBefore = proxy.Origin.Calls;

        var on = await SwitchAsync(proxy, new { enabled = true, retryAfter = 30 });
        var fresh = await proxy.GetAsync("/60/fresh");
        var stale = await proxy.GetAsync("/1/stale", ("Cache-Control", "no-cache")); // a reload: still the stored copy
        var mustRevalidate = await proxy.GetAsync("/1/must");
        var neverStored = await proxy.GetAsync("/60/new");
        using var post = await proxy.Client.PostAsync("/60/fresh", new StringContent("x"));
        var ready = JsonDocument.Parse(await (await proxy.GetAsync("/health/ready", ("X-Test-Client", "127.0.0.1"))).Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.StartsWith("CacheProxy; hit", fresh.CacheStatus());
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("CacheProxy; hit; detail=maintenance", stale.CacheStatus());
        Assert.Equal("content of /1/stale", await stale.Content.ReadAsStringAsync());
        foreach (var refused in new[] { mustRevalidate, neverStored, post })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("30", refused.Header("Retry-After"));
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Contains("urn:cacheproxy:error:maintenance", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(callsBefore, proxy.Origin.Calls); // nothing went upstream
        var check = ready.GetProperty("checks").GetProperty("maintenance");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.True(check.GetProperty("data").GetProperty("enabled").GetBoolean());
        await proxy.WaitForLogAsync("MaintenanceChanged");
    }

    [Fact]
    public async Task AllowedNetworks_PassThrough_AndTurningItOff_RestoresEveryone()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = Origin;
        using var refused = proxy.Collect<long>("cacheproxy.maintenance.refused");

        await SwitchAsync(proxy, new { enabled = true, allow = new[] { "10.1.0.0/16" } });
        var outside = await proxy.GetAsync("/60/a");
        var inside = await proxy.GetAsync("/60/b", ("X-Test-Client", "10.1.2.3"));
        var state = JsonDocument.Parse(await (await SwitchAsync(proxy, new { enabled = false })).Content.ReadAsStringAsync()).RootElement;
        var after = await proxy.GetAsync("/60/a");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, outside.StatusCode);
        Assert.Equal("120", outside.Header("Retry-After")); // the configured default
        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        Assert.Contains("fwd=miss", inside.CacheStatus());
        Assert.False(state.GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(1, refused.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task OnByConfiguration_APostCannotTurnItOff()
    {
        await using var proxy = await StartAsync(o =>
        {
            o.Maintenance.Enabled = true;
            o.Maintenance.RetryAfter = TimeSpan.FromMinutes(5);
        });

        var state = JsonDocument.Parse(await (await SwitchAsync(proxy, new { enabled = false })).Content.ReadAsStringAsync()).RootElement;
        var response = await proxy.GetAsync("/60/a");

        Assert.True(state.GetProperty("enabled").GetBoolean());
        Assert.Equal("configuration", state.GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("300", response.Header("Retry-After"));
    }

    [Theory]
    [InlineData("{}", "enabled")]
    [InlineData("{\"enabled\":\"yes\"}", "enabled")]
    [InlineData("{\"enabled\":true,\"retryAfter\":0}", "retryAfter")]
    [InlineData("{\"enabled\":true,\"allow\":[\"10.0.0.0/33\"]}", "allow[0]")]
    [InlineData("{\"enabled\":true,\"until\":\"tomorrow\"}", "until")]
    public async Task AMalformedSwitch_Is400NamingTheField_AndChangesNothing(string body, string field)
    {
        await using var proxy = await StartAsync();

        var response = await SendSwitchAsync(proxy, body);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.OK, (await proxy.GetAsync("/60/a")).StatusCode);
    }
}
