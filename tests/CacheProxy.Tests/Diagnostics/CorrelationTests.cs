using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Testing;

namespace CacheProxy.Tests.Diagnostics;

public sealed class CorrelationTests
{
    private static string? CorrelationOf(FakeLogRecord record) =>
        record.Scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>()
            .SelectMany(s => s).Where(kv => kv.Key == "CorrelationId").Select(kv => kv.Value as string).FirstOrDefault();

    [Fact]
    public async Task ClientId_IsKept_Forwarded_Echoed_AndInEveryLogScope()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("x");
        };

        var response = await proxy.GetAsync("/c", ("X-Request-ID", "client-id-42"));
        var hit = await proxy.GetAsync("/c", ("X-Request-ID", "client-id-42")); // answered on the fresh-hit path

        Assert.Equal("client-id-42", response.Header("X-Request-ID"));
        Assert.Equal("client-id-42", hit.Header("X-Request-ID"));
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal("client-id-42", proxy.Origin.Seen.Single().Headers["X-Request-ID"]);
        var cacheLogs = proxy.Logs.GetSnapshot().Where(r => r.Category == "CacheProxy.Cache").ToList();
        Assert.Contains(cacheLogs, r => r.Id.Name == "CacheHit");
        Assert.All(cacheLogs, r => Assert.Equal("client-id-42", CorrelationOf(r)));
    }

    [Fact]
    public async Task MissingId_IsGenerated_AndEachRequestGetsItsOwn_EvenOnACacheHit()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.Headers["X-Request-ID"] = c.Request.Headers["X-Request-ID"]; // an origin that echoes it
            return c.Response.WriteAsync("x");
        };

        var first = await proxy.GetAsync("/g");
        var second = await proxy.GetAsync("/g");

        var firstId = first.Header("X-Request-ID");
        var secondId = second.Header("X-Request-ID");
        Assert.Matches("^[0-9a-f]{32}$", firstId);
        Assert.Matches("^[0-9a-f]{32}$", secondId);
        Assert.NotEqual(firstId, secondId); // the stored response does not replay the first request's id
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.Equal(firstId, proxy.Origin.Seen.Single().Headers["X-Request-ID"]);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("semi;colon")]
    public async Task InvalidId_IsReplaced_AndTheReplacementLogged(string invalid)
    {
        await using var proxy = await ProxyFixture.StartAsync();

        var response = await proxy.GetAsync("/i", ("X-Request-ID", invalid));

        var id = response.Header("X-Request-ID");
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, proxy.Origin.Seen.Single().Headers["X-Request-ID"]);
        var replaced = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "CorrelationIdReplaced");
        Assert.Equal("CacheProxy.Security", replaced.Category);
        Assert.DoesNotContain(invalid, replaced.Message, StringComparison.Ordinal); // client input is not echoed into logs
    }

    [Fact]
    public async Task OverlongId_IsReplaced()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Correlation.MaxLength = 16);

        var response = await proxy.GetAsync("/l", ("X-Request-ID", new string('a', 17)));

        Assert.Matches("^[0-9a-f]{32}$", response.Header("X-Request-ID"));
    }

    [Fact]
    public async Task HeaderName_IsConfigurable()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Correlation.HeaderName = "X-Correlation-ID");

        var response = await proxy.GetAsync("/h", ("X-Correlation-ID", "abc"));

        Assert.Equal("abc", response.Header("X-Correlation-ID"));
        Assert.Equal("abc", proxy.Origin.Seen.Single().Headers["X-Correlation-ID"]);
    }

    [Fact]
    public async Task TraceParent_IsPropagatedUpstream()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        await proxy.GetAsync("/t", ("traceparent", $"00-{traceId}-00f067aa0ba902b7-01"));

        var forwarded = proxy.Origin.Seen.Single().Headers["traceparent"];
        Assert.Contains(traceId, forwarded, StringComparison.Ordinal);
    }
}
