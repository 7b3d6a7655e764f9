namespace CacheProxy.Configuration;

/// <summary>Cache settings of one YARP route (<c>CacheProxy:Routes:{routeId}</c>).</summary>
public sealed class RouteCacheOptions
{
    /// <summary>Gets or sets whether responses of this route are cached.</summary>
    /// <value>Default true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Gets or sets a freshness lifetime that replaces the one the origin's headers give. Storability rules
    /// (no-store, private, Authorization, Vary: *) still apply.
    /// </summary>
    /// <value>Null (default) keeps the origin's freshness.</value>
    public TimeSpan? Ttl { get; set; }

    /// <summary>
    /// Gets what this route does with unkeyed request fields, by field name, in place of
    /// <see cref="CacheProxyOptions.UnkeyedRequestHeaders"/>: for example <c>Key</c> for a field the route's origin
    /// really varies on.
    /// </summary>
    public IDictionary<string, UnkeyedHeaderAction> UnkeyedRequestHeaders { get; } = new Dictionary<string, UnkeyedHeaderAction>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets what this route does with responses that carry Set-Cookie.</summary>
    /// <value>Null (default) follows <see cref="CacheProxyOptions.SetCookie"/>.</value>
    public SetCookiePolicy? SetCookie { get; set; }

    /// <summary>
    /// Gets or sets how long this route's forwarded requests wait for the upstream's response headers, in place of
    /// <see cref="UpstreamOptions.ResponseHeadersTimeout"/>.
    /// </summary>
    /// <value>Null (default) follows <see cref="UpstreamOptions.ResponseHeadersTimeout"/>; else 100 ms to 1 hour.</value>
    public TimeSpan? ResponseHeadersTimeout { get; set; }

    /// <summary>Gets how this route's stored responses are compressed, in place of <see cref="CacheProxyOptions.Compression"/>: each setting left unset follows it.</summary>
    public RouteCompressionOptions Compression { get; } = new();

    /// <summary>Gets the route's Edge Side Includes settings, in place of <see cref="CacheProxyOptions.Esi"/>: each setting left unset follows it.</summary>
    public RouteEsiOptions Esi { get; } = new();

    /// <summary>Gets what this route tells the CDN in front (docs/cdn.md): its tags, and targeted cache-control of its own.</summary>
    public RouteCdnOptions Cdn { get; } = new();

    /// <summary>
    /// Gets or sets whether the targets of a stored response's <c>Link: &lt;…&gt;; rel=preload</c> (or <c>prefetch</c>) fields
    /// are warmed in the background, on the response's own host (needs <c>AddWarming()</c>).
    /// </summary>
    /// <value>Default false.</value>
    public bool WarmLinks { get; set; }

    /// <summary>Gets the route's refresh ahead of expiry.</summary>
    public RouteRefreshAheadOptions RefreshAhead { get; } = new();

    /// <summary>Gets what the route keys on beyond the URL: named cookies (docs/experiments.md).</summary>
    public RouteKeyOptions Key { get; } = new();

    /// <summary>Gets the experiments (<see cref="CacheProxyOptions.Experiments"/>) whose buckets the route's visitors are assigned to and keyed on; needs <c>AddExperiments()</c>.</summary>
    public IList<string> Experiments { get; } = [];

    /// <summary>Gets the route's image variants (docs/images.md); needs <c>AddImages()</c> from CacheProxy.Images.</summary>
    public RouteImageOptions Images { get; } = new();

    /// <summary>Gets the route's GraphQL caching (docs/graphql.md).</summary>
    public RouteGraphQLOptions GraphQL { get; } = new();
}
