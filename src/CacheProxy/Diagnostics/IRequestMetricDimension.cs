using Microsoft.AspNetCore.Http;

namespace CacheProxy;

/// <summary>
/// A dimension of the app's own on <c>cacheproxy.requests</c> (for example a tenant or a content type): register
/// implementations in DI. Each adds one tag, <see cref="Name"/>, with the value <see cref="GetValue"/> gives the
/// request. At most <c>CacheProxy:MetricDimensionValueLimit</c> distinct values per dimension are kept; later new
/// values count as <c>other</c>, and the first such request is logged (event 1502).
/// </summary>
public interface IRequestMetricDimension
{
    /// <summary>Gets the tag name: lower-case letters, digits and underscores, not <c>route</c> or <c>cache_status</c>.</summary>
    string Name { get; }

    /// <summary>The request's value for the dimension; null or empty counts as <c>none</c>. Called once per request routed to YARP.</summary>
    /// <param name="context">The request, after routing.</param>
    /// <returns>The value.</returns>
    string? GetValue(HttpContext context);
}
