using Microsoft.Extensions.Primitives;

namespace CacheProxy.Storage;

/// <summary>What a cache store holds under one key: a stored response, or the Vary rule for a URL.</summary>
public enum CacheEntryKind
{
    /// <summary>A complete stored response.</summary>
    Response = 0,

    /// <summary>The Vary header names of the responses stored for a URL; the variants live under secondary keys.</summary>
    VaryRule = 1,
}

/// <summary>
/// An immutable stored entry. Instances are shared between concurrent readers and must not be modified after
/// they are handed to a store.
/// </summary>
public sealed class CacheEntry
{
    /// <summary>Gets what this entry is.</summary>
    public CacheEntryKind Kind { get; init; }

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

    /// <summary>
    /// Gets the request header names the response varies on (<see cref="CacheEntryKind.VaryRule"/>), or null.
    /// </summary>
    public IReadOnlyList<string>? VaryHeaderNames { get; init; }

    /// <summary>Gets the generation of a Vary rule: part of every variant's key, so a new rule orphans old variants.</summary>
    public string? VaryGeneration { get; init; }

    /// <summary>Gets the secondary-key suffixes of the variants stored under a Vary rule, oldest first.</summary>
    public IReadOnlyList<string>? Variants { get; init; }

    /// <summary>Gets a freshness lifetime set by route policy that replaces the one of the headers, or null.</summary>
    public TimeSpan? FreshnessOverride { get; init; }

    /// <summary>Gets the surrogate keys (tags) of the stored response.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    // Policy facts derived from the headers, computed on first use and reused by every hit.
    internal object? Policy;

    // The endpoint a routed GET for this entry went to, for answering before routing (Caching.EarlyHits).
    internal object? EarlyRoute;

    /// <summary>Gets the first value of a stored header field, or an empty value.</summary>
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

    /// <summary>Gets an estimate of the memory this entry holds, in bytes, for size-bounded stores.</summary>
    public long EstimatedSize
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
            if (Variants is not null)
            {
                foreach (var v in Variants)
                {
                    size += 24 + (v.Length * 2);
                }
            }
            return size;
        }
    }
}
