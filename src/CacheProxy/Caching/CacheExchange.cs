using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>The state of a request while it is upstream (<see cref="CacheContext.Exchange"/>); made only on that path.</summary>
internal sealed class CacheExchange
{
    /// <summary>The RFC 9211 forward reason: miss, vary-miss, stale, request.</summary>
    public required string ForwardReason { get; init; }

    /// <summary>A stale-while-revalidate refresh, on a request of our own; nobody waits for its answer.</summary>
    public bool Background { get; init; }

    public DateTimeOffset RequestTime { get; set; }

    public DateTimeOffset ResponseTime { get; set; }

    /// <summary>Conditional request fields were replaced by the stored response's validators.</summary>
    public bool Validating { get; set; }

    /// <summary>The client's own conditional fields, set aside while validating with ours.</summary>
    public StringValues ClientIfNoneMatch { get; set; }

    public StringValues ClientIfModifiedSince { get; set; }

    /// <summary>The header fields of the upstream 304 answer to our validation.</summary>
    public KeyValuePair<string, StringValues>[]? NotModifiedHeaders { get; set; }

    /// <summary>The upstream failed and the stale response is served instead.</summary>
    public bool ServeStaleOnError { get; set; }

    /// <summary>The upstream could not be reached at all (no response), not merely answered with an error.</summary>
    public bool UpstreamUnreachable { get; set; }

    /// <summary>The upstream answered with a server error or not at all.</summary>
    public bool UpstreamFailed { get; set; }

    public int UpstreamStatus { get; set; }

    /// <summary>The header fields to store, captured when the response was accepted for storing.</summary>
    public List<KeyValuePair<string, StringValues>>? StoreHeaders { get; set; }

    public IReadOnlyList<string>? VaryNames { get; set; }

    /// <summary>The response is one to store compressed too (<see cref="Compressor.Applies"/>); its Vary names Accept-Encoding.</summary>
    public bool Compress { get; set; }

    /// <summary>The part of the representation a 206 to store carries.</summary>
    public StoredPart? Part { get; set; }

    /// <summary>The rest of the lookup's <see cref="Lookup.Part"/> this fetch asked for, to answer the whole request from both.</summary>
    public StoredPart? Completing { get; set; }

    /// <summary>The upstream answered the completion with a 206 that does not complete the part: the request goes again, as the client sent it.</summary>
    public bool CompletionFailed { get; set; }

    /// <summary>The entry the stored part and a new one were joined into, when they were.</summary>
    public Storage.CacheEntry? Combined { get; set; }

    /// <summary>The tags the response is stored with, bounded.</summary>
    public IReadOnlyList<string> Tags { get; set; } = [];

    /// <summary>A response (new, or refreshed by a 304) was stored.</summary>
    public bool Stored { get; set; }
}
