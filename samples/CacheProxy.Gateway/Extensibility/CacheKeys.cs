using CacheProxy;

namespace CacheProxy.Gateway.Extensibility;

// Examples of ICacheKeyCustomizer, quoted in docs/extensibility.md and exercised by ExtensionPointTests.

/// <summary>Tracking parameters (<c>utm_*</c>, <c>gclid</c>, <c>fbclid</c>) do not make a page a different one.</summary>
public sealed class IgnoreTrackingParameters : ICacheKeyCustomizer
{
    /// <inheritdoc/>
    public void Customize(CacheKeyContext context) =>
        context.RemoveQueryParameters(name => name.StartsWith("utm_", StringComparison.Ordinal) || name is "gclid" or "fbclid");
}

/// <summary>Each value of a request header (a tenant, a region) gets its own entries, whether or not the origin sends Vary.</summary>
public sealed class KeyByHeader(string headerName) : ICacheKeyCustomizer
{
    /// <inheritdoc/>
    public void Customize(CacheKeyContext context) => context.Add(headerName, context.HttpContext.Request.Headers[headerName]);
}
