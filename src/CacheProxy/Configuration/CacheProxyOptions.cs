namespace CacheProxy.Configuration;

/// <summary>CacheProxy settings, bound from the <c>CacheProxy</c> configuration section.</summary>
public sealed class CacheProxyOptions
{
    /// <summary>Gets or sets the bytes the memory tier may hold.</summary>
    /// <value>Bytes, at least 1 MiB. Default 256 MiB.</value>
    public long MemoryTierSizeLimit { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Gets or sets the largest response body that is stored. Larger responses are still streamed to the
    /// client, just not stored.
    /// </summary>
    /// <value>Bytes, from 1 to <see cref="MemoryTierSizeLimit"/>. Default 8 MiB.</value>
    public long MaxObjectSize { get; set; } = 8L * 1024 * 1024;

    /// <summary>Gets or sets how many variants (by Vary) of one URL are kept; the oldest is dropped beyond it.</summary>
    /// <value>1 to 1000. Default 32.</value>
    public int MaxVariantsPerUrl { get; set; } = 32;

    /// <summary>Gets or sets the fraction of the time since Last-Modified used as heuristic freshness (RFC 9111 §4.2.2).</summary>
    /// <value>0 to 1. Default 0.1; 0 turns heuristic freshness off.</value>
    public double HeuristicFraction { get; set; } = 0.1;

    /// <summary>Gets or sets the upper bound of a heuristic freshness lifetime.</summary>
    /// <value>Default 1 day.</value>
    public TimeSpan HeuristicMaxLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Gets or sets how long a stale response that carries a validator is kept for revalidation after its
    /// freshness and stale windows have passed.
    /// </summary>
    /// <value>Default 1 hour; zero drops entries as soon as they can no longer be served.</value>
    public TimeSpan StaleRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how long a request waits for a concurrent identical miss before going upstream itself.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan CollapseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets whether a stale stored response is served when the upstream cannot be reached (connection
    /// refused, reset, timed out) — RFC 9111 §4.2.4 lets a disconnected cache do so — unless must-revalidate,
    /// proxy-revalidate, s-maxage, no-cache or the request's no-cache forbid it.
    /// </summary>
    /// <value>Default true.</value>
    public bool ServeStaleWhenUpstreamUnreachable { get; set; } = true;

    /// <summary>
    /// Gets or sets whether fresh memory-tier hits for GET are answered at the start of the pipeline, before routing,
    /// the authorization middleware and any middleware placed before <c>UseCacheProxy()</c>. Only responses last
    /// served through a route without authorization or CORS metadata qualify, only while the app's endpoints are
    /// unchanged since, while no route matches on headers or query parameters and no fallback authorization policy is
    /// set. Turn it on when nothing between routing and <c>UseCacheProxy()</c> needs to see cache hits (rate limiting,
    /// CORS default policies, custom auth): it saves about a microsecond of CPU per hit (docs/performance.md).
    /// </summary>
    /// <value>Default false. The sample gateway turns it on.</value>
    public bool ServeHitsBeforeRouting { get; set; }

    /// <summary>Gets or sets whether CDN-Cache-Control (RFC 9213) replaces Cache-Control for this cache.</summary>
    /// <value>Default true.</value>
    public bool HonorCdnCacheControl { get; set; } = true;

    /// <summary>
    /// Gets or sets whether Surrogate-Control (W3C Edge Architecture) replaces Cache-Control for this cache.
    /// Directives may target this cache by <see cref="CacheStatusName"/> (<c>max-age=60;CacheProxy</c>); ones
    /// aimed at another target are ignored. The field is removed before the response reaches the client.
    /// </summary>
    /// <value>Default true.</value>
    public bool HonorSurrogateControl { get; set; } = true;

    internal Http.TargetedFields Targeted => new(HonorCdnCacheControl, HonorSurrogateControl ? CacheStatusName : null);

    /// <summary>Gets or sets when responses that carry Set-Cookie are stored.</summary>
    /// <value>Default <see cref="SetCookiePolicy.WhenExplicitlyCacheable"/>.</value>
    public SetCookiePolicy SetCookie { get; set; } = SetCookiePolicy.WhenExplicitlyCacheable;

    /// <summary>Gets or sets the cache name written in Cache-Status (RFC 9211).</summary>
    /// <value>A token. Default <c>CacheProxy</c>.</value>
    public string CacheStatusName { get; set; } = "CacheProxy";

    /// <summary>Gets the correlation id settings.</summary>
    public CorrelationOptions Correlation { get; } = new();

    /// <summary>Gets the settings of the management plane.</summary>
    public ManagementOptions Management { get; } = new();

    /// <summary>Gets the settings of surrogate keys (tags) from response headers.</summary>
    public TagOptions Tags { get; } = new();

    /// <summary>Gets the settings of purges and invalidations.</summary>
    public PurgeOptions Purge { get; } = new();

    /// <summary>Gets the settings of graceful shutdown.</summary>
    public ShutdownOptions Shutdown { get; } = new();

    /// <summary>Gets what readiness requires.</summary>
    public HealthOptions Health { get; } = new();

    /// <summary>Gets how upstreams are connected to.</summary>
    public UpstreamOptions Upstream { get; } = new();

    /// <summary>Gets maintenance mode as configuration sets it.</summary>
    public MaintenanceOptions Maintenance { get; } = new();

    /// <summary>
    /// Gets the per-route settings, by YARP route id. They take effect through the built-in cache policy, the first
    /// <see cref="Caching.ICachePolicy"/> of every request.
    /// </summary>
    public IDictionary<string, RouteCacheOptions> Routes { get; } = new Dictionary<string, RouteCacheOptions>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>When a response carrying Set-Cookie may be stored (RFC 9111 §7.3 leaves this to the cache).</summary>
public enum SetCookiePolicy
{
    /// <summary>Store it only when the origin gave explicit freshness (max-age, s-maxage, Expires) or public.</summary>
    WhenExplicitlyCacheable = 0,

    /// <summary>Never store a response that carries Set-Cookie.</summary>
    Never = 1,
}

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
}
