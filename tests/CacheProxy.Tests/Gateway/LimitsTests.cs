using System.Net;
using System.Net.Sockets;
using System.Text;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// Each limit of the sample gateway, as a real process, exceeded once: its documented status, its log event and its
/// metric (docs/operations/limits.md).
/// </summary>
public sealed class LimitsTests
{
    // The meter's version, which Prometheus shows as otel_scope_version: the core assembly's version.
    private static readonly string Scope = typeof(CacheProxy.CacheProxyTelemetry).Assembly.GetName().Version!.ToString();

    private static async Task<string> ScrapeAsync(GatewayProcess gateway)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics");
    }

    private static async Task AssertRejectedAsync(GatewayProcess gateway, string reason)
    {
        var line = await gateway.WaitForLineAsync("\"EventId\":1402");
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.Contains($"cacheproxy_connections_rejected_total{{otel_scope_name=\"CacheProxy\",otel_scope_version=\"{Scope}\",reason=\"{reason}\"}} 1",
            await ScrapeAsync(gateway), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Kestrel__Limits__MaxRequestHeadersTotalSize", "4096", "X-Big: {0}\r\n", "431", "max_request_headers_total_size_exceeded")]
    [InlineData("Kestrel__Limits__MaxRequestHeaderCount", "10", "{1}", "431", "max_request_header_count_exceeded")]
    [InlineData("Kestrel__Limits__MaxRequestLineSize", "1024", "", "414", "invalid_request_line")]
    public async Task AKestrelLimit_AnswersItsStatus_AndIsLoggedAndCounted(string setting, string value, string headers, string status, string reason)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, (setting, value));
        await gateway.WaitStartedAsync();
        var path = setting.EndsWith("LineSize", StringComparison.Ordinal) ? "/" + new string('a', 2000) : "/";
        var extra = string.Format(System.Globalization.CultureInfo.InvariantCulture, headers, new string('x', 8000),
            string.Concat(Enumerable.Range(0, 20).Select(i => $"X-H{i}: {i}\r\n")));

        var response = await RawHttp.SendAsync(gateway.PublicPort, $"GET {path} HTTP/1.1\r\nHost: gateway\r\n{extra}\r\n");

        Assert.StartsWith($"HTTP/1.1 {status} ", response, StringComparison.Ordinal);
        await AssertRejectedAsync(gateway, reason);
        Assert.Equal(0, origin.Calls);
    }

    [Fact]
    public async Task RequestHeadersTimeout_ASlowClient_Gets408_AndIsLoggedAndCounted()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("Kestrel__Limits__RequestHeadersTimeout", "00:00:01"));
        await gateway.WaitStartedAsync();

        var response = await RawHttp.SendAsync(gateway.PublicPort, "GET / HTTP/1.1\r\nHost: gateway\r\n"); // the headers never end

        Assert.StartsWith("HTTP/1.1 408 ", response, StringComparison.Ordinal);
        await AssertRejectedAsync(gateway, "request_headers_timeout");
    }

    [Fact]
    public async Task PastMaxConcurrentConnections_ANewConnectionIsClosed_AndIsLoggedAndCounted()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("Kestrel__Limits__MaxConcurrentConnections", "1"));
        await gateway.WaitStartedAsync();
        using var held = new TcpClient();
        await held.ConnectAsync(IPAddress.Loopback, gateway.PublicPort);
        await held.GetStream().WriteAsync("GET / HTTP/1.1\r\nHost: gateway\r\n\r\n"u8.ToArray()); // served, then kept alive
        // Kestrel counts a connection on a thread-pool thread after accepting it: only once this one has its answer
        // does it surely hold the one slot (else the next connection may take it first).
        var buffer = new byte[4096];
        var answered = string.Empty;
        while (!answered.Contains("200 OK", StringComparison.Ordinal))
        {
            var read = await held.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, read);
            answered += Encoding.ASCII.GetString(buffer, 0, read);
        }

        var response = await RawHttp.SendAsync(gateway.PublicPort, "GET / HTTP/1.1\r\nHost: gateway\r\n\r\n");

        Assert.DoesNotContain("200 OK", response, StringComparison.Ordinal);
        await AssertRejectedAsync(gateway, "max_concurrent_connections_exceeded");
    }

    [Fact]
    public async Task ARequestBodyOverTheLimit_Is413Problem_AndIsLoggedAndCounted()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = async c =>
        {
            await c.Request.Body.CopyToAsync(Stream.Null); // an upload endpoint reads what it is sent
            await c.Response.WriteAsync("stored");
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("Kestrel__Limits__MaxRequestBodySize", "16"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();

        var response = await http.PostAsync($"http://127.0.0.1:{gateway.PublicPort}/upload", new StringContent(new string('x', 1000)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("payload-too-large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertRejectedAsync(gateway, "max_request_body_size_exceeded");
    }

    [Fact]
    public async Task AnUpstreamSlowerThanTheActivityTimeout_Is504Problem_LoggedAndCounted()
    {
        using var origin = WireMockServer.Start();
        origin.Given(Request.Create().WithPath("/slow")).RespondWith(Response.Create().WithStatusCode(200).WithBody("late").WithDelay(TimeSpan.FromSeconds(10)));
        await using var gateway = GatewayProcess.Start("Production", origin.Url + "/", ("ReverseProxy__Clusters__origin__HttpRequest__ActivityTimeout", "00:00:01"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();

        var response = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("upstream-timeout", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("00:00:01", await gateway.WaitForLineAsync("\"EventId\":1201"), StringComparison.Ordinal); // UpstreamTimedOut, naming the timeout
        Assert.Contains($"cacheproxy_errors_total{{otel_scope_name=\"CacheProxy\",otel_scope_version=\"{Scope}\",category=\"upstream-timeout\"}} 1",
            await ScrapeAsync(gateway), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConnectFailure_IsRetriedOnceForAGet_NeverForAPost()
    {
        var closed = GatewayProcess.FreePort();
        await using var gateway = GatewayProcess.Start("Production", $"http://127.0.0.1:{closed}/");
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();

        var get = await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/page");
        var retried = await gateway.WaitForLineAsync("\"EventId\":1204"); // UpstreamConnectRetried
        var post = await http.PostAsync($"http://127.0.0.1:{gateway.PublicPort}/form", new StringContent("x"));
        await gateway.WaitForLineAsync("\"EventId\":1200", occurrence: 2); // UpstreamUnreachable, for the GET and the POST
        var metrics = await ScrapeAsync(gateway);

        Assert.Equal(HttpStatusCode.BadGateway, get.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, post.StatusCode);
        Assert.Contains("\"Method\":\"GET\"", retried, StringComparison.Ordinal);
        Assert.Contains($"cacheproxy_upstream_retries_total{{otel_scope_name=\"CacheProxy\",otel_scope_version=\"{Scope}\"}} 1", metrics, StringComparison.Ordinal);
    }
}
