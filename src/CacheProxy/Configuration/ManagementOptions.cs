namespace CacheProxy.Configuration;

/// <summary>Where management endpoints (health, metrics, purge) answer, and who may call them (docs/purge.md).</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// Gets or sets the local port of the management listener. When set, endpoints mapped by
    /// <c>MapCacheProxyManagement</c> answer only on it, and nothing else answers there. When null, no port
    /// separation is applied (use only in development).
    /// </summary>
    /// <value>1 to 65535, or null. Default: the port of the Kestrel endpoint named <c>Management</c>
    /// (<c>Kestrel:Endpoints:Management:Url</c>) when one is configured, else null.</value>
    public int? Port { get; set; }

    /// <summary>
    /// Gets the API keys that may call management endpoints, by name (the name is what logs show; the key never
    /// is): <c>CacheProxy:Management:ApiKeys:{name}</c>, or from the environment
    /// <c>CacheProxy__Management__ApiKeys__{name}</c>. Sent as <c>Authorization: Bearer {key}</c>. Reloadable, so
    /// keys rotate by adding the new one, moving clients, removing the old one.
    /// </summary>
    /// <value>Each key at least 32 characters. Default none: purge is refused until a key is configured.</value>
    public IDictionary<string, string> ApiKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Gets the networks management calls may come from, in CIDR notation (<c>10.0.0.0/8</c>, <c>fd00::/8</c>);
    /// calls from anywhere else get 403.
    /// </summary>
    /// <value>Default empty, which means loopback only (127.0.0.0/8 and ::1).</value>
    public IList<string> AllowedNetworks { get; } = [];

    /// <summary>Gets or sets whether the health endpoints need an API key too (purge always does).</summary>
    /// <value>Default false, so that a kubelet or load balancer probe keeps working (the network list still applies).</value>
    public bool RequireApiKeyForHealth { get; set; }

    /// <summary>Gets or sets whether <c>/metrics</c> needs an API key too.</summary>
    /// <value>Default false, so that a Prometheus scraper keeps working (the network list still applies).</value>
    public bool RequireApiKeyForMetrics { get; set; }

    /// <summary>Gets or sets how many failed authentications one client address may make per minute; past it, 429.</summary>
    /// <value>1 to 10000. Default 10.</value>
    public int FailedAttemptsPerMinute { get; set; } = 10;

    /// <summary>
    /// Gets or sets how many dashboard event streams (<c>/dashboard/events</c>) one API key may hold open at once;
    /// past it, 429. Each costs a connection and a snapshot a second.
    /// </summary>
    /// <value>1 to 1000. Default 8: a few browser tabs per operator.</value>
    public int EventStreamsPerKey { get; set; } = 8;

    /// <summary>
    /// Gets or sets how many purge requests one API key may make per second (a token bucket holding one second's
    /// worth); past it, 429 with Retry-After. Each purge is kept in the invalidation ledger until its retention ends.
    /// </summary>
    /// <value>Above 0, at most 100000. Default 100.</value>
    public double PurgesPerSecondPerKey { get; set; } = 100;
}
