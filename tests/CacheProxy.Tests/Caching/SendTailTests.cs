using System.Net;
using System.Net.Sockets;
using CacheProxy.Caching;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// The watch over what a client has not taken of a response (<see cref="SendTail"/>) on a real TCP connection whose
/// client reads on command, with the clock in the test's hands. Cutting a client that takes nothing is tested on a
/// gateway process (Security/SlowReaderTests); here, that a slow client which keeps taking is never cut.
/// </summary>
public sealed class SendTailTests
{
    private sealed class Connection(Socket socket) : IConnectionSocketFeature, IConnectionLifetimeFeature
    {
        public Socket Socket => socket;

        public CancellationToken ConnectionClosed { get; set; }

        public bool Aborted { get; private set; }

        public void Abort() => Aborted = true;
    }

    [Fact]
    public async Task AClientThatTakesSomethingEveryPeriod_IsNotCut_HoweverSlowly()
    {
        await using var gateway = await ProxyFixture.StartAsync(o => o.SendTimeout = TimeSpan.FromSeconds(5));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var server = await listener.AcceptSocketAsync();
        server.Blocking = false;
        var chunk = new byte[64 * 1024];
        try
        {
            while (true)
            {
                server.Send(chunk); // until the kernel takes no more: the client reads nothing yet
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
        {
        }
        var connection = new Connection(server);
        var context = new DefaultHttpContext();
        context.Features.Set<IConnectionSocketFeature>(connection);
        context.Features.Set<IConnectionLifetimeFeature>(connection);

        gateway.Services.GetRequiredService<SendTail>().Watch(context, "route", bodyLength: null);
        for (var period = 0; period < 3; period++)
        {
            var before = SendTail.Read(server)!.Value.Acked;
            var taken = 0;
            var buffer = new byte[16 * 1024];
            while (taken < 64 * 1024)
            {
                taken += await client.ReceiveAsync(buffer);
            }
            await Signal.WaitUntilAsync(() => SendTail.Read(server)!.Value.Acked != before); // the kernel saw it taken
            gateway.Time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.False(connection.Aborted);
        Assert.DoesNotContain(gateway.Logs.GetSnapshot(), r => r.Id.Name == "ClientSendTimedOut");
    }
}
