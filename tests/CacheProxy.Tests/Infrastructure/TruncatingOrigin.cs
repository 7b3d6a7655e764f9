using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>
/// A raw TCP origin that answers with bytes no HTTP server should send. By default it promises a Content-Length,
/// sends half of it, then closes the connection cleanly (FIN), so the bytes it did send reach the proxy before the
/// end of the stream.
/// </summary>
public sealed class TruncatingOrigin : IAsyncDisposable
{
    public const string HalfBody = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n";
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _calls;

    private readonly string _response;

    public TruncatingOrigin(string? rawResponse = null)
    {
        _response = rawResponse ?? HalfBody + new string('x', 50);
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";

    public int Calls => Volatile.Read(ref _calls);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = AnswerAsync(socket);
        }
    }

    private async Task AnswerAsync(Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[8192];
            var received = new StringBuilder();
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    return;
                }
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            Interlocked.Increment(ref _calls);
            await socket.SendAsync(Encoding.ASCII.GetBytes(_response), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
