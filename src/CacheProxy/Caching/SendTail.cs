using System.Net.Sockets;
using System.Runtime.InteropServices;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// The end of a large response that the gateway handed over but the client has not taken: the kernel's send buffer
/// (autotuned up to 4 MiB on Linux; 2.9 MB measured for a stalled client on loopback) and Kestrel's transport buffer
/// accept it at once, so no write of the gateway waits for it and <see cref="CacheProxy.Configuration.CacheProxyOptions.SendTimeout"/>
/// could not see the client stall. On Linux this watches the connection's own TCP counters (<c>TCP_INFO</c>: bytes
/// the client acknowledged, bytes still queued) every <c>SendTimeout</c> until the queue is empty; a period in which
/// the client acknowledged nothing while data waits resets the connection (RST: nothing more reaches the client, the
/// kernel drops the queue), logged (1014) and counted as a client error. Elsewhere, or when the counters cannot be
/// read, Kestrel's keep-alive timeout ends it. For stored and forwarded responses alike.
/// </summary>
internal sealed class SendTail(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const int UnackedOffset = 24;    // tcpi_unacked (u32): segments sent, not yet acknowledged
    private const int BytesAckedOffset = 120; // tcpi_bytes_acked (u64), Linux 4.1
    private const int NotSentOffset = 144;   // tcpi_notsent_bytes (u32), Linux 4.6
    private const int InfoLength = 152;

    /// <summary>Responses smaller than this are not watched: what of them waits in buffers is small, and a hit costs no system call more.</summary>
    private const int MinimumBody = StoredResponseWriter.SendChunk;

    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// Starts watching the connection of <paramref name="context"/> when anything of its response still waits for the
    /// client and the body was at least <see cref="MinimumBody"/> long (<paramref name="bodyLength"/>; null: unknown).
    /// </summary>
    public void Watch(HttpContext context, string routeId, long? bodyLength)
    {
        if (bodyLength < MinimumBody || !OperatingSystem.IsLinux() || context.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket
            || context.Features.Get<IConnectionLifetimeFeature>() is not { } connection || Read(socket) is not { Waiting: true } first)
        {
            return;
        }
        var timeout = options.Current.SendTimeout;
        var tail = new Tail(socket, connection, first.Acked, () =>
        {
            Log.ClientSendTimedOut(_logger, routeId, timeout);
            metrics.Error(ErrorCategory.Client);
        });
        tail.Timer = time.CreateTimer(static s => ((Tail)s!).Check(), tail, timeout, timeout);
    }

    internal static Progress? Read(Socket socket)
    {
        Span<byte> info = stackalloc byte[InfoLength];
        try
        {
            if (socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info) < InfoLength)
            {
                return null; // a kernel older than 4.6
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or PlatformNotSupportedException)
        {
            return null; // closed meanwhile
        }
        var waiting = MemoryMarshal.Read<uint>(info[NotSentOffset..]) > 0 || MemoryMarshal.Read<uint>(info[UnackedOffset..]) > 0;
        return new Progress(MemoryMarshal.Read<ulong>(info[BytesAckedOffset..]), waiting);
    }

    internal readonly record struct Progress(ulong Acked, bool Waiting);

    private sealed class Tail(Socket socket, IConnectionLifetimeFeature connection, ulong acked, Action stalled)
    {
        private ulong _acked = acked;

        public ITimer? Timer { get; set; }

        public void Check()
        {
            if (Read(socket) is not { } now || !now.Waiting)
            {
                Timer?.Dispose(); // closed, or everything taken
                return;
            }
            if (now.Acked != _acked)
            {
                _acked = now.Acked;
                return;
            }
            Timer?.Dispose();
            try
            {
                // A reset, now: the kernel drops what the client never took. Closed here rather than by Kestrel alone,
                // whose close comes later and would let a client that reads meanwhile take the rest.
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
            connection.Abort();
            stalled();
        }
    }
}
