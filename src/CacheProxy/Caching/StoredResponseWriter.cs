using System.Globalization;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// Writes a stored response to the client: the client's own conditional request (304, RFC 9110 §13.2.2) and range
/// request (206/416, §14) answered from it, the stored fields, Age (RFC 9111 §5.1) and Cache-Status.
/// </summary>
internal sealed class StoredResponseWriter(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers, TimeProvider time, SendTail tail,
    Esi.EsiAssembler esi, Cdn.DownstreamFields downstream)
{
    /// <summary>The progress a client must make within <see cref="CacheProxyOptions.SendTimeout"/>: a body is written in pieces of this size.</summary>
    internal const int SendChunk = 256 * 1024;

    private static readonly string[] AgeStrings = CreateAgeStrings(1024);
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);
    private readonly CacheProxyMetrics _metrics = metrics;

    /// <summary>Writes <paramref name="entry"/> at <paramref name="age"/>, with <paramref name="status"/> as the Cache-Status member.</summary>
    // Not async: the headers are set synchronously and the body write's own ValueTask is returned, so a hit whose
    // write waits on the client (a body over Kestrel's 64 KiB response buffer) costs no state machine of ours here.
    public ValueTask WriteAsync(HttpContext context, string routeId, CacheEntry entry, StoredPolicy policy, TimeSpan age, string status)
    {
        if (policy.EsiNegotiated && esi.Processes(routeId, policy, entry))
        {
            return esi.WriteAsync(context, routeId, entry, policy, age, status); // assembled: no 304, no ranges (docs/esi.md)
        }
        var current = options.Current;
        var request = context.Request;
        var response = context.Response;
        var headers = response.Headers;
        var length = entry.BodyLength;
        long start = 0;
        var count = length;
        var statusCode = entry.StatusCode;
        string? contentRange = null;

        // RFC 9111 §4.3.2: without Last-Modified, If-Modified-Since is compared with Date, else the time received.
        var notModified = entry.StatusCode is StatusCodes.Status200OK or StatusCodes.Status206PartialContent
            && Conditional.IsNotModified(request.Headers, policy.ETag, policy.LastModifiedDate ?? policy.Date ?? entry.ResponseTime, entry.ResponseTime);
        if (!notModified && entry.StatusCode == StatusCodes.Status206PartialContent)
        {
            // A stored part answers only the ranges it covers (CacheLookup sees to that): the range, from the part's bytes.
            if (PartialContent.Covers(entry, policy, request, out var part, out var rangeStart, out var rangeCount))
            {
                contentRange = new StoredPart(rangeStart, rangeStart + rangeCount - 1, part.Complete).ContentRange;
                (start, count) = (rangeStart - part.First, rangeCount);
            }
        }
        else if (!notModified && entry.StatusCode == StatusCodes.Status200OK && HttpMethods.IsGet(request.Method)
            && request.Headers.Range is { Count: 1 } range && Conditional.IfRangeHolds(request.Headers.IfRange, policy.ETag, policy.LastModifiedDate))
        {
            switch (ByteRange.Resolve(range[0], length, out var rangeStart, out var rangeCount))
            {
                case ByteRange.Outcome.Partial:
                    statusCode = StatusCodes.Status206PartialContent;
                    contentRange = new StoredPart(rangeStart, rangeStart + rangeCount - 1, length).ContentRange;
                    (start, count) = (rangeStart, rangeCount);
                    break;
                case ByteRange.Outcome.Unsatisfiable:
                    statusCode = StatusCodes.Status416RangeNotSatisfiable;
                    contentRange = $"bytes */{length}";
                    count = 0;
                    break;
            }
        }

        response.StatusCode = notModified ? StatusCodes.Status304NotModified : statusCode;
        var stored = entry.Headers;
        for (var i = 0; i < stored.Count; i++)
        {
            var h = stored[i];
            if (h.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                || ConsumedFields.Contains(h.Key, current)
                || (notModified && FieldSets.NotIn304.Contains(h.Key)))
            {
                continue;
            }
            headers[h.Key] = h.Value;
        }
        downstream.Apply(context, headers, routeId, entry.Tags);
        var ageSeconds = (long)age.TotalSeconds;
        headers.Age = ageSeconds < AgeStrings.Length ? AgeStrings[ageSeconds] : ageSeconds.ToString(CultureInfo.InvariantCulture);
        // Upstream Cache-Status members are not stored (HeaderFilter), so ours is the only one: set, not appended.
        headers[CacheProxyHeaderNames.CacheStatus] = CacheStatus.Value(current.CacheStatusName, status);
        if (notModified)
        {
            return ValueTask.CompletedTask;
        }
        if (contentRange is not null)
        {
            headers.ContentRange = contentRange;
        }
        response.ContentLength = count;
        if (HttpMethods.IsHead(request.Method) || count == 0)
        {
            return ValueTask.CompletedTask;
        }
        _metrics.Served(routeId, count);
        return entry.StreamedBody is { } streamed
            ? new ValueTask(CopyStreamedAsync(context, routeId, streamed, start, count))
            : WriteBodyAsync(context, routeId, entry.Body.Slice((int)start, (int)count)); // a write to an aborted connection fails by itself
    }

    /// <summary>
    /// Writes <paramref name="body"/> in pieces of <see cref="SendChunk"/>; a piece the client has not taken within
    /// <see cref="CacheProxyOptions.SendTimeout"/> closes its connection. A write that completes at once (the usual
    /// hit) costs nothing more.
    /// </summary>
    private ValueTask WriteBodyAsync(HttpContext context, string routeId, ReadOnlyMemory<byte> body)
    {
        if (body.Length > SendChunk)
        {
            return new ValueTask(WriteInChunksAsync(context, routeId, body));
        }
        var write = context.Response.Body.WriteAsync(body);
        return write.IsCompleted ? write : new ValueTask(AwaitSendAsync(context, routeId, write));
    }

    private async Task WriteInChunksAsync(HttpContext context, string routeId, ReadOnlyMemory<byte> body)
    {
        for (var offset = 0; offset < body.Length; offset += SendChunk)
        {
            var write = context.Response.Body.WriteAsync(body.Slice(offset, Math.Min(SendChunk, body.Length - offset)));
            await (write.IsCompleted ? write : new ValueTask(AwaitSendAsync(context, routeId, write)));
        }
        tail.Watch(context, routeId, body.Length); // what the client has still not taken once every write completed
    }

    /// <summary>Waits for a write the client has not taken yet, closing the connection if it makes no progress in time.</summary>
    private async Task AwaitSendAsync(HttpContext context, string routeId, ValueTask write)
    {
        var stalled = new StalledSend(this, context, routeId, options.Current.SendTimeout);
        using (var timer = time.CreateTimer(static s => ((StalledSend)s!).TimedOut(), stalled, stalled.Timeout, Timeout.InfiniteTimeSpan))
        {
            try
            {
                await write;
            }
            finally
            {
                stalled.Done();
            }
        }
    }

    /// <summary>One write waiting for its client; aborts the connection when the timer fires first.</summary>
    private sealed class StalledSend(StoredResponseWriter writer, HttpContext context, string routeId, TimeSpan timeout)
    {
        private int _state; // 0 waiting, 1 done, 2 timed out

        public TimeSpan Timeout { get; } = timeout;

        public void Done() => Interlocked.CompareExchange(ref _state, 1, 0);

        public void TimedOut()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
            {
                return;
            }
            Log.ClientSendTimedOut(writer._logger, routeId, Timeout);
            writer._metrics.Error(ErrorCategory.Client);
            context.Abort(); // the pending write then fails, as for any client that went away
        }
    }

    private async Task CopyStreamedAsync(HttpContext context, string routeId, IStreamedBody streamed, long start, long count)
    {
        try
        {
            await streamed.CopyToAsync(new SendBoundStream(this, context, routeId), start, count, CancellationToken.None);
            tail.Watch(context, routeId, count);
        }
        catch (IOException ex)
        {
            // The store lost the body after the headers went out: the client must see an incomplete response
            // (aborted connection), never a short one that looks complete.
            Log.StoreReadFailed(_logger, "streamed body", ex);
            _metrics.Error(ErrorCategory.Store);
            context.Abort();
        }
    }

    /// <summary>The client's response body for a store that copies a streamed body into it: every write bounded like <see cref="WriteBodyAsync"/>.</summary>
    private sealed class SendBoundStream(StoredResponseWriter writer, HttpContext context, string routeId) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            writer.WriteBodyAsync(context, routeId, buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous writes to a client");

        public override Task FlushAsync(CancellationToken cancellationToken) => context.Response.Body.FlushAsync(cancellationToken);

        public override void Flush() => throw new NotSupportedException("synchronous writes to a client");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static string[] CreateAgeStrings(int count)
    {
        var strings = new string[count];
        for (var i = 0; i < count; i++)
        {
            strings[i] = i.ToString(CultureInfo.InvariantCulture);
        }
        return strings;
    }
}
