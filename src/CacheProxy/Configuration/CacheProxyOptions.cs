namespace CacheProxy.Configuration;

/// <summary>CacheProxy settings, bound from the <c>CacheProxy</c> configuration section.</summary>
public sealed class CacheProxyOptions
{
    /// <summary>Gets or sets the bytes the memory tier may hold.</summary>
    /// <value>Bytes, at least 1 MiB. Default 256 MiB.</value>
    public long MemoryTierSizeLimit { get; set; } = 256L * 1024 * 1024;

    /// <summary>Gets or sets which entries the memory tier keeps when it is full (docs/caching.md, "Admission and eviction").</summary>
    /// <value><see cref="EvictionPolicy.TinyLfu"/> (default) or <see cref="EvictionPolicy.Lru"/>; a reload moves the entries held to the new policy.</value>
    public EvictionPolicy Eviction { get; set; } = EvictionPolicy.TinyLfu;

    /// <summary>
    /// Gets or sets the largest response body that is stored. Larger responses are still streamed to the
    /// client, just not stored.
    /// </summary>
    /// <value>Bytes, from 1 to <see cref="MemoryTierSizeLimit"/>. Default 8 MiB.</value>
    public long MaxObjectSize { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Gets or sets how many bytes the bodies being kept for the store may take at once, across all requests in
    /// flight. A response that would take more is still streamed to the client, just not stored (event 1013,
    /// <c>cacheproxy.capture.skipped</c>), so a burst of large misses cannot run the process out of memory.
    /// </summary>
    /// <value>Bytes, at least 1 MiB; null (default) is a quarter of what the GC may use (the heap hard limit, the container limit, or physical memory).</value>
    public long? CaptureMemoryLimit { get; set; }

    /// <summary>
    /// Gets or sets how long writing a stored response to a client may make no progress (the client takes none of
    /// the next 256 KiB) before its connection is closed: nginx's <c>send_timeout</c>. Kestrel's own
    /// <c>MinResponseDataRate</c> grants every byte written time at its rate, hours for a few MiB of socket buffers;
    /// responses forwarded from the upstream are bounded by YARP's <c>ActivityTimeout</c> instead.
    /// </summary>
    /// <value>1 second to 1 hour. Default 60 seconds.</value>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(60);

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
    /// Gets or sets how long a key whose response said it may not be shared (no-store, private, Set-Cookie, Vary: *,
    /// larger than <see cref="MaxObjectSize"/>, …) is passed straight upstream: neither collapsed behind another
    /// request for it nor captured (Varnish's hit-for-pass). A purge that covers the key, or a response stored for
    /// it, ends the pass sooner; a server error (5xx) or a refusal owed to the request never starts one.
    /// <see cref="TimeSpan.Zero"/> turns it off.
    /// </summary>
    /// <value>From zero to 1 hour. Default 30 seconds.</value>
    public TimeSpan HitForPassTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets whether a stale stored response is served when the upstream cannot be reached (connection
    /// refused, reset, timed out) — RFC 9111 §4.2.4 lets a disconnected cache do so — unless must-revalidate,
    /// proxy-revalidate, s-maxage, no-cache or the request's no-cache forbid it.
    /// </summary>
    /// <value>Default true.</value>
    public bool ServeStaleWhenUpstreamUnreachable { get; set; } = true;

    /// <summary>
    /// Gets or sets whether an error response (4xx, 5xx) may replace a stored successful one for the same key. An
    /// input the key ignores can provoke an error; stored, it would answer everyone. When false the error is passed
    /// to its client and the stored response kept.
    /// </summary>
    /// <value>Default false.</value>
    public bool ErrorsReplaceStoredSuccess { get; set; }

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

    /// <summary>
    /// Gets or sets the name of this gateway's own targeted cache-control field (RFC 9213 §2): when a response carries
    /// it as a valid dictionary, it governs this cache over <c>CDN-Cache-Control</c>, <c>Surrogate-Control</c> and
    /// <c>Cache-Control</c>, which pass on untouched to the CDN and browsers; the field itself is removed. So an
    /// origin can tell the gateway, the CDN and browsers three different things.
    /// </summary>
    /// <value>An HTTP field name, or empty for none. Default <c>CacheProxy-Cache-Control</c>.</value>
    public string TargetedCacheControl { get; set; } = "CacheProxy-Cache-Control";

    internal Http.TargetedFields Targeted => new(HonorCdnCacheControl, HonorSurrogateControl ? CacheStatusName : null,
        string.IsNullOrEmpty(TargetedCacheControl) ? null : TargetedCacheControl);

    /// <summary>
    /// Gets or sets whether request fields whose names contain an underscore are removed before the request is
    /// forwarded (nginx's <c>underscores_in_headers off</c>). CGI, PHP and the frameworks after them read
    /// <c>X_Forwarded_Host</c> as <c>X-Forwarded-Host</c>: forwarded, such a field is an unkeyed twin of a listed one.
    /// When false, a field whose name is a listed one with underscores for hyphens gets that name's action.
    /// </summary>
    /// <value>Default true.</value>
    public bool DropUnderscoreHeaders { get; set; } = true;

    /// <summary>
    /// Gets request fields that origins and frameworks act on but the cache key ignores — URL and method overrides,
    /// forwarding fields this proxy does not set itself — and what is done with them, by field name: by default each
    /// is removed before the request is forwarded, so that it cannot make the origin answer differently under a key
    /// other clients share (web cache poisoning). A route may choose otherwise
    /// (<see cref="RouteCacheOptions.UnkeyedRequestHeaders"/>); configuration adds fields or changes their action.
    /// </summary>
    public IDictionary<string, UnkeyedHeaderAction> UnkeyedRequestHeaders { get; } = new Dictionary<string, UnkeyedHeaderAction>(StringComparer.OrdinalIgnoreCase)
    {
        ["X-Original-URL"] = UnkeyedHeaderAction.Remove,
        ["X-Rewrite-URL"] = UnkeyedHeaderAction.Remove,
        ["X-HTTP-Method-Override"] = UnkeyedHeaderAction.Remove,
        ["X-HTTP-Method"] = UnkeyedHeaderAction.Remove,
        ["X-Method-Override"] = UnkeyedHeaderAction.Remove,
        ["X-Forwarded-Port"] = UnkeyedHeaderAction.Remove,
        ["X-Forwarded-Scheme"] = UnkeyedHeaderAction.Remove,
        ["X-Forwarded-Server"] = UnkeyedHeaderAction.Remove,
        ["X-Forwarded-Ssl"] = UnkeyedHeaderAction.Remove,
        ["X-Original-Host"] = UnkeyedHeaderAction.Remove,
        ["X-Host"] = UnkeyedHeaderAction.Remove,
        ["X-HTTP-Host-Override"] = UnkeyedHeaderAction.Remove,
        ["Forwarded"] = UnkeyedHeaderAction.Remove,
    };

    /// <summary>
    /// Gets the request fields that carry a user's credentials besides Authorization and Cookie, which always do (an
    /// API key header, a session header). A response to a request with any of them is stored only with explicit
    /// freshness for a shared cache (s-maxage, max-age, Expires, public with a validator, or a route's Ttl); with
    /// Authorization, RFC 9111 §3.5 applies as well.
    /// </summary>
    /// <value>Default empty.</value>
    public IList<string> CredentialHeaders { get; } = [];

    /// <summary>
    /// Gets or sets whether responses that carry Set-Cookie are stored, and with it or without it. A route may choose
    /// otherwise (<see cref="RouteCacheOptions.SetCookie"/>).
    /// </summary>
    /// <value>Default <see cref="SetCookiePolicy.DoNotStore"/>: one client's cookie is never handed to another.</value>
    public SetCookiePolicy SetCookie { get; set; } = SetCookiePolicy.DoNotStore;

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

    /// <summary>Gets how stored responses are compressed.</summary>
    public CompressionOptions Compression { get; } = new();

    /// <summary>
    /// Gets or sets how many distinct values each <c>IRequestMetricDimension</c> of the app may put on
    /// <c>cacheproxy.requests</c>; later new values count as <c>other</c> (event 1502), so a dimension cannot grow the
    /// metric without bound.
    /// </summary>
    /// <value>1 to 10000. Default 100.</value>
    public int MetricDimensionValueLimit { get; set; } = 100;

    /// <summary>Gets cache warming: concurrency, rate and bounds of <c>POST /warm</c>.</summary>
    public WarmOptions Warm { get; } = new();

    /// <summary>Gets maintenance mode as configuration sets it.</summary>
    public MaintenanceOptions Maintenance { get; } = new();

    /// <summary>Gets Edge Side Includes: pages assembled from separately cached fragments (docs/esi.md).</summary>
    public EsiOptions Esi { get; } = new();

    /// <summary>Gets the CDNs in front of the gateway that purges are forwarded to (docs/cdn.md).</summary>
    public CdnOptions Cdn { get; } = new();

    /// <summary>Gets refresh ahead of expiry for hot entries.</summary>
    public RefreshAheadOptions RefreshAhead { get; } = new();

    /// <summary>Gets the A/B experiments routes can assign visitors to, by name (docs/experiments.md); needs <c>AddExperiments()</c>.</summary>
    public IDictionary<string, ExperimentOptions> Experiments { get; } = new Dictionary<string, ExperimentOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Gets the per-route settings, by YARP route id. They take effect through the built-in cache policy, the first
    /// <see cref="ICachePolicy"/> of every request.
    /// </summary>
    public IDictionary<string, RouteCacheOptions> Routes { get; } = new Dictionary<string, RouteCacheOptions>(StringComparer.OrdinalIgnoreCase);
}
