using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Hosting;

/// <summary>
/// Kestrel enforces its limits (header size and count, body size, request-line size, header and body timeouts, data
/// rates, connection count, HTTP/2 flow control) before a request reaches any middleware, and says why it closed a
/// connection only in its own <c>kestrel.connection.duration</c> metric (<c>error.type</c>). This listens to that
/// metric and turns every limit or malformed-input rejection into event 1720 and
/// <c>cacheproxy.connections.rejected{reason}</c>, whether or not the app exports Kestrel's meter.
/// </summary>
internal sealed class ConnectionRejections : IHostedService, IDisposable
{
    /// <summary>Kestrel's <c>error.type</c> values that mean a limit fired or the client sent something malformed.</summary>
    internal static readonly FrozenSet<string> Reasons = FrozenSet.ToFrozenSet(
    [
        "max_request_body_size_exceeded", "max_request_headers_total_size_exceeded", "max_request_header_count_exceeded",
        "max_concurrent_connections_exceeded", "request_headers_timeout", "min_request_body_data_rate", "min_response_data_rate",
        "invalid_request_line", "invalid_request_headers", "invalid_http_version", "unexpected_end_of_request_content",
        "tls_handshake_failed", "tls_not_supported", "max_frame_length_exceeded", "stream_reset_limit_exceeded",
        "flow_control_queue_size_exceeded", "output_queue_size_exceeded",
    ], StringComparer.Ordinal);

    private readonly MeterListener _listener = new();
    private readonly ILogger _logger;
    private readonly Counter<long> _rejected;

    public ConnectionRejections(ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _logger = loggers.CreateLogger(LogCategories.Security);
        _rejected = metrics.Meter.CreateCounter<long>("cacheproxy.connections.rejected", "{connection}",
            "Connections Kestrel closed because a limit fired or the client sent something malformed, by reason (Kestrel's error.type).");
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.connection.duration")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (_, _, tags, state) => ((ConnectionRejections)state!).OnConnectionEnded(tags));
    }

    private void OnConnectionEnded(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? reason = null;
        string? peer = null;
        foreach (var (name, value) in tags)
        {
            if (name == "error.type")
            {
                reason = value as string;
            }
            else if (name == "network.peer.address")
            {
                peer = value as string;
            }
        }
        if (reason is not null && Reasons.TryGetValue(reason, out var known))
        {
            _rejected.Add(1, new KeyValuePair<string, object?>("reason", known));
            Log.ConnectionRejected(_logger, known, peer);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();
}
