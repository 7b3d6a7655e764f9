using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>
/// A GET with content is forwarded as it came, and neither answered from nor stored under the bodyless key: an
/// origin that reads the content cannot make its answer everyone's. Through the real gateway, on the wire.
/// </summary>
public sealed class RequestContentTests
{
    [Theory]
    [InlineData("Content-Length: 5\r\n\r\nhello")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    public async Task AGetWithContent_IsForwarded_NeverAnsweredFromTheCache_NorStored(string framingAndContent)
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = async c =>
        {
            var content = await new StreamReader(c.Request.Body).ReadToEndAsync();
            c.Response.Headers.CacheControl = "max-age=60";
            await c.Response.WriteAsync(content.Length > 0 ? "answer to " + content : "page");
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var url = $"http://127.0.0.1:{gateway.PublicPort}";

        Assert.Equal("page", await http.GetStringAsync(url + "/stored")); // stored
        var withContent = await RawHttp.SendAsync(gateway.PublicPort, $"GET /stored HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n{framingAndContent}");
        var fresh = await RawHttp.SendAsync(gateway.PublicPort, $"GET /fresh HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n{framingAndContent}");
        var stored = await http.GetAsync(url + "/stored");
        var afterFresh = await http.GetAsync(url + "/fresh");

        Assert.Contains("answer to hello", withContent, StringComparison.Ordinal); // not the stored "page"
        Assert.Contains("fwd=bypass; detail=request-content", withContent, StringComparison.Ordinal);
        Assert.Contains("answer to hello", fresh, StringComparison.Ordinal);
        Assert.Equal("page", await stored.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", stored.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("page", await afterFresh.Content.ReadAsStringAsync()); // the answer to the content was not stored
        Assert.Contains("fwd=miss", afterFresh.CacheStatus(), StringComparison.Ordinal);
    }
}
