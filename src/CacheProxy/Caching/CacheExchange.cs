using CacheProxy.Hosting;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>The state of one request while it travels upstream through the cache.</summary>
internal sealed class CacheExchange
{
    public required HttpContext Context { get; init; }

    public required string Key { get; init; }

    public required string KeyHash { get; init; }

    public required string RouteId { get; init; }

    public required RouteCachePolicy? Route { get; init; }

    public required CacheControl RequestCacheControl { get; init; }

    /// <summary>The RFC 9211 forward reason: miss, vary-miss, stale, request.</summary>
    public required string ForwardReason { get; init; }

    /// <summary>The stored response being revalidated or that may be served on error, if any.</summary>
    public CacheEntry? Stale { get; init; }

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

    public bool ServeStaleOnError { get; set; }

    /// <summary>The upstream could not be reached at all (no response), not merely answered with an error.</summary>
    public bool UpstreamUnreachable { get; set; }

    public int UpstreamStatus { get; set; }

    /// <summary>The header fields to store, captured when the response was accepted for storing.</summary>
    public List<KeyValuePair<string, StringValues>>? StoreHeaders { get; set; }

    public IReadOnlyList<string>? VaryNames { get; set; }
}
