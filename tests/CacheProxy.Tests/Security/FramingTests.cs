using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>Framing that a request smuggler leaves behind does not reach the origin, on the wire through the gateway.</summary>
public sealed class FramingTests
{
    [Fact]
    public async Task ARequestWithBothContentLengthAndChunked_ReachesTheOriginWithoutTheLeftover_AndItsConnectionIsClosed()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = async c => await c.Response.WriteAsync("got " + await new StreamReader(c.Request.Body).ReadToEndAsync());
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();

        // Keep-alive asked for: the gateway must close the connection itself (RFC 9112 §6.1).
        var response = await RawHttp.SendAsync(gateway.PublicPort,
            "POST /upload HTTP/1.1\r\nHost: gateway\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        Assert.Contains("got hello", response, StringComparison.Ordinal); // chunked wins, as RFC 9112 says
        Assert.Contains("Connection: close", response, StringComparison.OrdinalIgnoreCase);
        var seen = Assert.Single(origin.Seen);
        Assert.DoesNotContain(seen.Headers.Keys, k => k.Equals("X-Content-Length", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(seen.Headers.Keys, k => k.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && seen.Headers[k] == "50");
    }

    [Theory]
    [InlineData("chunked, chunked")]
    [InlineData("identity")]
    [InlineData("identity, chunked")]
    [InlineData("gzip")]
    public async Task ATransferCodingThatIsNotExactlyChunkedOnce_IsRefused_AndNeverForwarded(string transferEncoding)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address);
        await gateway.WaitStartedAsync();

        var response = await RawHttp.SendAsync(gateway.PublicPort,
            $"POST /upload HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: {transferEncoding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", response, StringComparison.Ordinal);
        Assert.Equal(0, origin.Calls);
    }

    [Fact]
    public async Task AnHttp2RequestWithAConnectionSpecificField_IsMalformed_AndNeverForwarded()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("Kestrel__Endpoints__Public__Protocols", "Http2"));
        await gateway.WaitStartedAsync();

        // The control: the same client, no such field, is answered by the origin.
        Assert.Equal(200, (await RawHttp2.GetAsync(gateway.PublicPort, "/plain")).Status);
        Assert.Equal(1, origin.Calls);

        // RFC 9113 §8.2.2. Connection and a TE other than trailers Kestrel refuses itself (RST_STREAM or GOAWAY); the
        // other four reach the application, which answers 400. PROTOCOL_ERROR is 1.
        (string Name, string Value)[] fields =
            [("transfer-encoding", "chunked"), ("keep-alive", "timeout=5"), ("proxy-connection", "keep-alive"), ("upgrade", "websocket"),
             ("connection", "close"), ("te", "gzip")];
        foreach (var field in fields)
        {
            var outcome = await RawHttp2.GetAsync(gateway.PublicPort, "/plain", field);
            Assert.True(outcome.Status == 400 || outcome.ResetCode == 1 || outcome.GoAwayCode == 1, $"{field.Name}: {outcome}");
        }
        Assert.Equal(1, origin.Calls);
        Assert.Equal(200, (await RawHttp2.GetAsync(gateway.PublicPort, "/plain", ("te", "trailers"))).Status); // the one TE allowed
    }

    [Fact]
    public async Task AnHttp2RequestThatWouldBeMalformedAsHttp11_IsRefusedByKestrel_AndNeverForwarded()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("Kestrel__Endpoints__Public__Protocols", "Http2"));
        await gateway.WaitStartedAsync();

        // CR, LF or NUL in a value would split or end an HTTP/1.1 field upstream; a content-length the stream's data
        // does not match (here: 5, and no data) would frame the upstream body wrongly. PROTOCOL_ERROR is 1.
        (string Name, string Value)[] fields = [("x-test", "a\r\nX-Injected: 1"), ("x-test", "a\nb"), ("x-test", "a\0b"), ("content-length", "5")];
        foreach (var field in fields)
        {
            var outcome = await RawHttp2.GetAsync(gateway.PublicPort, "/plain", field);
            Assert.True(outcome.ResetCode == 1 || outcome.GoAwayCode == 1, $"{field.Name}: {outcome}");
        }
        Assert.Equal(0, origin.Calls);
    }
}
