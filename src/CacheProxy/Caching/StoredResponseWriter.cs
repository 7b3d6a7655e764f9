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
internal sealed class StoredResponseWriter(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private static readonly string[] AgeStrings = CreateAgeStrings(1024);
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Writes <paramref name="entry"/> at <paramref name="age"/>, with <paramref name="status"/> as the Cache-Status member.</summary>
    // Not async: the headers are set synchronously and the body write's own ValueTask is returned, so a hit whose
    // write waits on the client (a body over Kestrel's 64 KiB response buffer) costs no state machine of ours here.
    public ValueTask WriteAsync(HttpContext context, string routeId, CacheEntry entry, StoredPolicy policy, TimeSpan age, string status)
    {
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
        var notModified = entry.StatusCode == StatusCodes.Status200OK
            && Conditional.IsNotModified(request.Headers, policy.ETag, policy.LastModifiedDate ?? policy.Date ?? entry.ResponseTime, entry.ResponseTime);
        if (!notModified && entry.StatusCode == StatusCodes.Status200OK && HttpMethods.IsGet(request.Method)
            && request.Headers.Range is { Count: 1 } range && IfRangeHolds(request.Headers.IfRange, policy))
        {
            switch (ByteRange.Resolve(range[0], length, out var rangeStart, out var rangeCount))
            {
                case ByteRange.Outcome.Partial:
                    statusCode = StatusCodes.Status206PartialContent;
                    contentRange = $"bytes {rangeStart}-{rangeStart + rangeCount - 1}/{length}";
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
                || (current.HonorSurrogateControl && h.Key.Equals(CacheProxyHeaderNames.SurrogateControl, StringComparison.OrdinalIgnoreCase))
                || (notModified && IsRepresentationField(h.Key)))
            {
                continue;
            }
            headers[h.Key] = h.Value;
        }
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
        metrics.Served(routeId, count);
        return entry.StreamedBody is { } streamed
            ? new ValueTask(CopyStreamedAsync(context, streamed, start, count))
            : response.Body.WriteAsync(entry.Body.Slice((int)start, (int)count)); // a write to an aborted connection fails by itself
    }

    private async Task CopyStreamedAsync(HttpContext context, IStreamedBody streamed, long start, long count)
    {
        try
        {
            await streamed.CopyToAsync(context.Response.Body, start, count, CancellationToken.None);
        }
        catch (IOException ex)
        {
            // The store lost the body after the headers went out: the client must see an incomplete response
            // (aborted connection), never a short one that looks complete.
            Log.StoreReadFailed(_logger, "streamed body", ex);
            metrics.Error(ErrorCategory.Store);
            context.Abort();
        }
    }

    // RFC 9110 §13.1.5: a range is served only if If-Range still names this representation (strong ETag or exact date).
    private static bool IfRangeHolds(StringValues ifRange, StoredPolicy policy)
    {
        if (StringValues.IsNullOrEmpty(ifRange))
        {
            return true;
        }
        var value = ifRange[0]!;
        if (value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal))
        {
            return !value.StartsWith("W/", StringComparison.Ordinal) && !StringValues.IsNullOrEmpty(policy.ETag)
                && string.Equals(policy.ETag[0], value, StringComparison.Ordinal);
        }
        return policy.LastModifiedDate is { } lm && HttpDate.TryParse(ifRange, lm, out var date) && date == lm;
    }

    // RFC 9110 §15.4.5: a 304 carries no representation metadata beyond what §15.4.5 lists.
    private static bool IsRepresentationField(string name) =>
        name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLanguage, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase);

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
