using System.Net;
using System.Net.Http.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Gateway;

/// <summary>Maintenance mode shared through Redis by two sample gateways as real processes, and kept across a restart.</summary>
public sealed class MaintenanceGatewayTests
{
    private static async Task<GatewayProcess> StartAsync(TestOrigin origin, RedisServer redis)
    {
        var gateway = GatewayProcess.Start("Production", origin.Address,
            ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), ("CacheProxy__Redis__Configuration", redis.Endpoint));
        await gateway.WaitStartedAsync();
        await gateway.WaitHealthyAsync();
        return gateway;
    }

    private static async Task SwitchAsync(HttpClient http, GatewayProcess gateway, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.ManagementPort}/maintenance") { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", PurgeTests.Key);
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    private static Task<HttpResponseMessage> GetAsync(HttpClient http, GatewayProcess gateway, string path) =>
        http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}{path}");

    [Fact]
    public async Task MaintenanceSetOnOneInstance_HoldsOnTheOther_AndOnAnInstanceStartedAfterwards_UntilItIsTurnedOff()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c => c.Response.WriteAsync("content");
        using var http = new HttpClient();
        await using var a = await StartAsync(origin, redis);
        await using var b = await StartAsync(origin, redis);

        await SwitchAsync(http, a, new { enabled = true, retryAfter = 45 });
        await b.WaitForLineAsync("\"EventId\":1710"); // MaintenanceChanged, heard from a
        var onB = await GetAsync(http, b, "/page");
        await using var c = await StartAsync(origin, redis); // started while maintenance is on: reads it from Redis
        await c.WaitForLineAsync("\"EventId\":1710");
        var onC = await GetAsync(http, c, "/page");
        await SwitchAsync(http, a, new { enabled = false });
        await c.WaitForLineAsync("\"EventId\":1710", occurrence: 2);
        var afterOnC = await GetAsync(http, c, "/page");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, onB.StatusCode);
        Assert.Equal("45", onB.Headers.RetryAfter?.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, onC.StatusCode);
        Assert.Equal(HttpStatusCode.OK, afterOnC.StatusCode);
        Assert.Equal(1, origin.Calls);
    }
}
