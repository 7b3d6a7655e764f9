using Microsoft.Extensions.Primitives;

namespace CacheProxy.Storage;

/// <summary>
/// What a store keeps under one key: everything it must persist, and nothing else — the engine's per-process memory
/// of an entry is kept beside it by the memory tier, never on it. Instances are immutable once handed to a store and
/// are shared between concurrent readers.
/// </summary>
public sealed class CacheEntry
{
    /// <summary>Gets the status code of the stored response.</summary>
    public int StatusCode { get; init; }

    /// <summary>Gets the stored end-to-end response header fields (no hop-by-hop fields, no Age).</summary>
    public IReadOnlyList<KeyValuePair<string, StringValues>> Headers { get; init; } = [];

    /// <summary>Gets the complete response body (empty when <see cref="StreamedBody"/> is set).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Gets a body the store streams on demand, or null when <see cref="Body"/> holds it.</summary>
    public IStreamedBody? StreamedBody { get; init; }

    /// <summary>Gets the body's length, wherever it is held.</summary>
    public long BodyLength => StreamedBody?.Length ?? Body.Length;

    /// <summary>Gets when the request that produced this response was sent upstream (RFC 9111 §4.2.3 request_time).</summary>
    public DateTimeOffset RequestTime { get; init; }

    /// <summary>Gets when the response was received (RFC 9111 §4.2.3 response_time).</summary>
    public DateTimeOffset ResponseTime { get; init; }

    /// <summary>Gets a freshness lifetime set by a cache policy that replaces the one of the headers, or null.</summary>
    public TimeSpan? FreshnessOverride { get; init; }

    /// <summary>Gets the surrogate keys (tags) of the stored response.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Gets the value of a stored header field, or an empty value.</summary>
    /// <param name="name">The field name (case-insensitive).</param>
    /// <returns>The values of the field.</returns>
    public StringValues GetHeader(string name)
    {
        var headers = Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (string.Equals(headers[i].Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return headers[i].Value;
            }
        }
        return StringValues.Empty;
    }

    /// <summary>A copy with other headers and times, sharing the body and tags (a response refreshed by a 304).</summary>
    internal CacheEntry With(IReadOnlyList<KeyValuePair<string, StringValues>> headers, DateTimeOffset requestTime, DateTimeOffset responseTime) => new()
    {
        StatusCode = StatusCode,
        Headers = headers,
        Body = Body,
        StreamedBody = StreamedBody,
        RequestTime = requestTime,
        ResponseTime = responseTime,
        FreshnessOverride = FreshnessOverride,
        Tags = Tags,
    };

    /// <summary>An estimate of the memory this entry holds, in bytes, for the size-bounded memory tier.</summary>
    internal long EstimatedSize
    {
        get
        {
            long size = 256 + Body.Length;
            foreach (var h in Headers)
            {
                size += 48 + (h.Key.Length * 2);
                foreach (var v in h.Value)
                {
                    size += 24 + ((v?.Length ?? 0) * 2);
                }
            }
            foreach (var tag in Tags)
            {
                size += 24 + (tag.Length * 2);
            }
            return size;
        }
    }
}
