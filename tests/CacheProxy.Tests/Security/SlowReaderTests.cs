using System.Net;
using System.Net.Sockets;
using System.Text;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Security;

/// <summary>
/// A client that asks for a large response and never reads it is disconnected within a documented bound, on the
/// real wire of a gateway process: a hit by <c>CacheProxy:SendTimeout</c>, a forwarded response by YARP's
/// ActivityTimeout. Kestrel's MinResponseDataRate alone would grant hours (docs/security.md).
/// </summary>
public sealed class SlowReaderTests
{
    /// <summary>Sends a GET on a socket with a small receive window and reads nothing until told to.</summary>
    private sealed class StalledClient : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };

        public static async Task<StalledClient> GetAsync(int port, string path, string method = "GET")
        {
            var client = new StalledClient();
            await client._socket.ConnectAsync(IPAddress.Loopback, port);
            // The Host HttpClient sends: the same cache key.
            await client._socket.SendAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"));
            return client;
        }

        /// <summary>Reads what the server had sent until it closed the connection (bounded): the bytes received.</summary>
        public async Task<long> DrainAsync()
        {
            using var stream = new NetworkStream(_socket);
            var buffer = new byte[64 * 1024];
            long total = 0;
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, bound.Token)) > 0)
                {
                    total += n;
                }
            }
            catch (IOException)
            {
                // reset by the server: as good as a close
            }
            return total;
        }

        public void Dispose() => _socket.Dispose();
    }

    /// <summary>
    /// A 6 MiB hit: the writes of the gateway wait. 1 MiB: every write completes at once (the kernel's send buffer and
    /// Kestrel's take it all), and the connection's TCP counters show the client taking nothing — for a hit, a miss
    /// that is not stored (no-store), and a request that is never cached (POST), whose YARP copy loop is done by then.
    /// </summary>
    [Theory]
    [InlineData(6 * 1024, "max-age=600", "GET")]
    [InlineData(1024, "max-age=600", "GET")]
    [InlineData(1024, "no-store", "GET")]
    [InlineData(1024, "no-store", "POST")]
    public async Task AClientThatNeverReads_IsDisconnectedAfterSendTimeout(int kib, string cacheControl, string method)
    {
        var body = new byte[kib * 1024];
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = cacheControl;
            return c.Response.Body.WriteAsync(body).AsTask();
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CacheProxy__SendTimeout", "00:00:02"));
        await gateway.WaitStartedAsync();
        var stored = cacheControl != "no-store";
        if (stored)
        {
            using var http = new HttpClient();
            Assert.Equal(body.Length, (await http.GetByteArrayAsync($"http://127.0.0.1:{gateway.PublicPort}/big")).Length);
        }

        using var client = await StalledClient.GetAsync(gateway.PublicPort, "/big", method);
        var logged = await gateway.WaitForLineAsync("\"EventId\":1014");

        Assert.Contains("00:00:02", logged, StringComparison.Ordinal);
        Assert.True(await client.DrainAsync() < body.Length, "the connection was closed before the whole body was taken");
        Assert.Equal(1, origin.Calls); // a hit for the stalled client when stored
    }

    [Fact]
    public async Task AClientThatNeverReadsAForwardedResponse_IsDisconnectedAfterTheActivityTimeout_AndTheUpstreamFetchStops()
    {
        const long size = 256L * 1024 * 1024;
        // A raw TCP origin: its sends block when the gateway stops reading and fail once it closes the connection,
        // with nothing between that could swallow them.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var stopped = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var request = new byte[4096];
            await socket.ReceiveAsync(request);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n"));
            var chunk = Encoding.ASCII.GetBytes("10000\r\n").Concat(new byte[0x10000]).Concat("\r\n"u8.ToArray()).ToArray();
            long sent = 0;
            try
            {
                while (sent < size)
                {
                    await socket.SendAsync(chunk);
                    sent += 0x10000;
                }
            }
            catch (SocketException)
            {
            }
            return sent;
        });
        var address = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";
        await using var gateway = GatewayProcess.Start("Production", address,
            ("ReverseProxy__Clusters__origin__HttpRequest__ActivityTimeout", "00:00:02"));
        await gateway.WaitStartedAsync();

        using var client = await StalledClient.GetAsync(gateway.PublicPort, "/stream");
        var sent = await stopped.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(sent < size, $"the origin sent all {sent} bytes: the gateway went on reading");
        Assert.True(await client.DrainAsync() < size);
    }
}
