using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>Requests written byte for byte, for what HttpClient will not send (bad framing, oversized lines, bodies on GET).</summary>
public static class RawHttp
{
    /// <summary>Sends raw bytes on a new connection and reads until the server closes it (a signal, bounded).</summary>
    public static async Task<string> SendAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
