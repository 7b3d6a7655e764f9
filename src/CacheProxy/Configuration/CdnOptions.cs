namespace CacheProxy.Configuration;

/// <summary>
/// The CDNs in front of the gateway (<c>CacheProxy:Cdn</c>, docs/cdn.md): every purge made here is forwarded to each
/// of them once it holds on every gateway instance, through an outbox (Redis when the Redis tier is on), retried with
/// backoff until <see cref="GiveUpAfter"/>.
/// </summary>
public sealed class CdnOptions
{
    /// <summary>
    /// Gets the CDNs purges are forwarded to, by name (the name is what logs, metrics and <c>GET /purge/forwarding</c>
    /// show; credentials never are). Reloadable: a changed token is used from the next delivery on.
    /// </summary>
    public IDictionary<string, CdnProviderOptions> Providers { get; } = new Dictionary<string, CdnProviderOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets whether the invalidations that unsafe methods cause (a successful POST, PUT, PATCH or DELETE
    /// invalidates its URL, and its Location and Content-Location) are forwarded too, as URL purges.
    /// </summary>
    /// <value>Default false.</value>
    public bool ForwardUnsafeInvalidations { get; set; }

    /// <summary>
    /// Gets or sets the response field the gateway writes a response's tags into for the CDN in front:
    /// <c>Surrogate-Key</c> (Fastly: space-separated), <c>Cache-Tag</c> (Cloudflare) or any other name
    /// (comma-separated), so that a tag purge forwarded to the CDN finds what it stored. A route may choose its own
    /// (<see cref="RouteCdnOptions.TagHeader"/>).
    /// </summary>
    /// <value>An HTTP field name, or null or empty for none. Default none.</value>
    public string? TagHeader { get; set; }

    /// <summary>
    /// Gets the networks (CIDR) the CDN's requests come from: when any is set, only responses to clients from them
    /// carry the tag field (<see cref="TagHeader"/>), so browsers and other clients never see the tags.
    /// </summary>
    /// <value>Default empty: every client gets the field.</value>
    public IList<string> TagHeaderNetworks { get; } = [];

    /// <summary>Gets or sets the delay before the first retry; each further retry doubles it (with jitter), up to <see cref="MaxRetryDelay"/>.</summary>
    /// <value>10 ms to 10 minutes. Default 1 second.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest delay between two attempts (a provider's <c>Retry-After</c> may ask for longer, and is obeyed).</summary>
    /// <value>At least <see cref="RetryDelay"/>, at most 1 hour. Default 5 minutes.</value>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how long after a purge its forwarding is given up: the delivery moves to the dead letters
    /// (<c>GET /purge/forwarding</c>), with event 1612 and <c>cacheproxy.cdn.deliveries{outcome="failed"}</c>.
    /// </summary>
    /// <value>1 second to 7 days. Default 1 hour.</value>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets how long one attempt (all the provider requests of one delivery) may take.</summary>
    /// <value>1 second to 10 minutes. Default 30 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many forwardings may wait at once. Past it a purge still holds on the gateway, but is
    /// answered 503 (<c>forwarding-not-queued</c>): purging again is safe.
    /// </summary>
    /// <value>1 to 1,000,000. Default 10,000.</value>
    public int MaxPending { get; set; } = 10_000;

    /// <summary>Gets or sets the longest a <c>POST /purge</c> with <c>"wait": true</c> waits for the CDNs to confirm.</summary>
    /// <value>1 second to 5 minutes. Default 30 seconds.</value>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how often each instance looks for deliveries that are due (retries, and with Redis, forwardings
    /// another instance accepted). A purge accepted here is delivered at once, without waiting for it.
    /// </summary>
    /// <value>10 ms to 1 minute. Default 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>One CDN purges are forwarded to (<c>CacheProxy:Cdn:Providers:{name}</c>).</summary>
public sealed class CdnProviderOptions
{
    /// <summary>Gets or sets which API the provider speaks.</summary>
    /// <value>Required.</value>
    public CdnProviderType? Type { get; set; }

    /// <summary>
    /// Gets or sets the API base (Fastly: default <c>https://api.fastly.com</c>; Cloudflare: default
    /// <c>https://api.cloudflare.com/client/v4</c>), or the URL a webhook posts to (required for a webhook).
    /// </summary>
    public string? Url { get; set; }

    /// <summary>
    /// Gets or sets the API token: Fastly's <c>Fastly-Key</c> (required), Cloudflare's bearer token (required), a
    /// webhook's optional <c>Authorization: Bearer</c>. Never logged or shown.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Gets or sets the key a webhook's body is signed with (HMAC-SHA256, <c>CacheProxy-Signature</c>); none: unsigned. Never logged or shown.</summary>
    public string? Secret { get; set; }

    /// <summary>Gets or sets the Fastly service id (required for Fastly).</summary>
    public string? ServiceId { get; set; }

    /// <summary>Gets or sets the Cloudflare zone id (required for Cloudflare).</summary>
    public string? ZoneId { get; set; }

    /// <summary>
    /// Gets or sets how many URLs, tags or prefixes one provider request names at most: Cloudflare's limit per request,
    /// Fastly's keys per batch. A webhook gets the whole purge in one body.
    /// </summary>
    /// <value>1 to 10,000. Default: Cloudflare 100 (its limit per request on every plan), Fastly 256 (its limit).</value>
    public int? BatchSize { get; set; }
}

/// <summary>The API a CDN provider speaks (docs/cdn.md).</summary>
public enum CdnProviderType
{
    /// <summary>Fastly's purge API: URLs one by one, surrogate keys in batches, soft purge.</summary>
    Fastly,

    /// <summary>Cloudflare's <c>purge_cache</c>: files, tags and prefixes in batches; no soft purge (a soft purge is forwarded hard).</summary>
    Cloudflare,

    /// <summary>A POST of a documented JSON body to a URL, optionally signed: for every other CDN or system.</summary>
    Webhook,
}

/// <summary>What a route tells the CDN in front (<c>CacheProxy:Routes:{routeId}:Cdn</c>); a null value follows <see cref="CdnOptions"/>.</summary>
public sealed class RouteCdnOptions
{
    /// <summary>Gets or sets the field this route's tags are written into for the CDN (see <see cref="CdnOptions.TagHeader"/>); empty: none.</summary>
    public string? TagHeader { get; set; }

    /// <summary>
    /// Gets or sets the <c>CDN-Cache-Control</c> (RFC 9213) every response of this route carries, whatever the origin
    /// sent, e.g. <c>max-age=86400, stale-while-revalidate=60</c>: what the CDN keeps, apart from what browsers get
    /// (<c>Cache-Control</c>, passed on as the origin sent it).
    /// </summary>
    /// <value>A cache-control value; null: the origin's, passed on untouched.</value>
    public string? CdnCacheControl { get; set; }

    /// <summary>Gets or sets the <c>Surrogate-Control</c> every response of this route carries, for a CDN that reads it (Akamai, Fastly).</summary>
    /// <value>A Surrogate-Control value; null: none (the origin's is consumed by this gateway when it honours it).</value>
    public string? SurrogateControl { get; set; }
}
