using CacheProxy;

namespace CacheProxy.Gateway.Extensibility;

// Examples of ICachePolicy, one per phase, quoted in docs/extensibility.md and exercised by
// tests/CacheProxy.Tests/Caching/ExtensionPointTests.cs. Register with
// services.TryAddEnumerable(ServiceDescriptor.Singleton<ICachePolicy>(new ...)).

/// <summary>Request phase: editors previewing unpublished content (an <c>X-Preview</c> header) bypass the cache.</summary>
public sealed class BypassPreviews : ICachePolicy
{
    /// <inheritdoc/>
    public ValueTask OnRequestAsync(CacheContext context, CancellationToken cancellationToken)
    {
        if (context.HttpContext.Request.Headers.ContainsKey("X-Preview"))
        {
            context.EnableCaching = false;
        }
        return default; // decided at once: a hit does not wait
    }
}

/// <summary>
/// Serve-from-cache phase: on one route, a stored response older than <paramref name="maxAge"/> is served only after
/// the origin validated it, however long its own freshness is (a 304 keeps that cheap).
/// </summary>
public sealed class RevalidateOlderThan(string routeId, TimeSpan maxAge) : ICachePolicy
{
    /// <inheritdoc/>
    public ValueTask OnServeFromCacheAsync(CacheContext context, CancellationToken cancellationToken)
    {
        if (context.RouteId == routeId && context.StoredResponseAge > maxAge)
        {
            context.RequireRevalidation = true;
        }
        return default;
    }
}

/// <summary>Response phase: images the origin sent without freshness stay an hour; HTML pages are never stored.</summary>
public sealed class FreshnessByContentType : ICachePolicy
{
    /// <inheritdoc/>
    public ValueTask OnResponseAsync(CacheContext context, CancellationToken cancellationToken)
    {
        var type = context.HttpContext.Response.ContentType ?? string.Empty;
        if (type.StartsWith("text/html", StringComparison.OrdinalIgnoreCase))
        {
            context.AllowCacheStorage = false;
        }
        else if (type.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
        {
            context.FreshnessLifetime = TimeSpan.FromHours(1);
        }
        return default;
    }
}
