using CacheProxy.Http;
using CacheProxy.Caching;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;

namespace CacheProxy;

/// <summary>
/// One request's passage through the cache, as <see cref="ICachePolicy"/>, <see cref="ITagProvider"/> see it and
/// the engine's phases share it. Valid only during the call it is handed to: CacheProxy reuses instances for later
/// requests, so keep no reference to it.
/// </summary>
public sealed class CacheContext
{
    private HashSet<string>? _tags;

    internal CacheContext()
    {
    }

    /// <summary>Gets the request's <see cref="Microsoft.AspNetCore.Http.HttpContext"/>.</summary>
    public HttpContext HttpContext { get; private set; } = null!;

    /// <summary>Gets the id of the YARP route the request was routed to.</summary>
    public string RouteId { get; private set; } = string.Empty;

    /// <summary>
    /// Gets or sets whether the cache takes part in this request at all (request phase). When false the request
    /// goes upstream untouched: no lookup, no storing, no collapsing (<c>Cache-Status: fwd=bypass; detail=policy</c>).
    /// </summary>
    /// <value>Default true.</value>
    public bool EnableCaching { get; set; } = true;

    /// <summary>
    /// Gets or sets whether a stored response may answer this request (request phase). When false the request goes
    /// upstream; its response may still be stored for later requests.
    /// </summary>
    /// <value>Default true.</value>
    public bool AllowCacheLookup { get; set; } = true;

    /// <summary>Gets or sets whether the response to this request may be stored (request or response phase).</summary>
    /// <value>Default true. RFC 9111's own rules (no-store, private, Authorization …) apply either way.</value>
    public bool AllowCacheStorage { get; set; } = true;

    /// <summary>Gets the stored response found for this request (serve-from-cache phase), or null.</summary>
    public CacheEntry? StoredResponse => _candidate.Entry;

    /// <summary>Gets the age of <see cref="StoredResponse"/> (RFC 9111 §4.2.3).</summary>
    public TimeSpan StoredResponseAge => _candidate.Age;

    /// <summary>Gets whether <see cref="StoredResponse"/> is fresh (RFC 9111 §4.2).</summary>
    public bool IsStoredResponseFresh => _candidate.IsFresh;

    /// <summary>
    /// Gets or sets whether <see cref="StoredResponse"/> may be used only after the origin validated it
    /// (serve-from-cache phase), as if it carried <c>no-cache</c>: no fresh hit, no stale serving.
    /// </summary>
    /// <value>Default false.</value>
    public bool RequireRevalidation { get; set; }

    /// <summary>
    /// Gets or sets a freshness lifetime that replaces the one the response's headers give (response phase).
    /// Storability rules still apply, but a response without explicit freshness becomes storable.
    /// </summary>
    /// <value>Default null: the headers decide.</value>
    public TimeSpan? FreshnessLifetime { get; set; }

    /// <summary>
    /// Gets or sets what is done with a response carrying Set-Cookie (response phase); the built-in policy sets a
    /// route's <see cref="Configuration.RouteCacheOptions.SetCookie"/>.
    /// </summary>
    /// <value>Default null: <see cref="Configuration.CacheProxyOptions.SetCookie"/>.</value>
    public Configuration.SetCookiePolicy? SetCookie { get; set; }

    /// <summary>Gets the surrogate keys (tags) the response is stored with; <see cref="ITagProvider"/>s add to it.</summary>
    public ICollection<string> Tags => _tags ??= new HashSet<string>(StringComparer.Ordinal);

    // ---- The engine's own state, shared by its phases ----

    internal Endpoint Endpoint = null!;

    /// <summary>The request's Cache-Control (RFC 9111 §5.2.1).</summary>
    internal CacheControl RequestCacheControl;

    /// <summary>no-cache by Cache-Control, or by Pragma when Cache-Control is absent (RFC 9111 §5.4).</summary>
    internal bool RequestNoCache;

    /// <summary>The primary cache key, or null when the request has none (see <see cref="CacheKey"/>).</summary>
    internal string? Key;

    /// <summary>Unkeyed request fields a route keys on (<see cref="Configuration.UnkeyedHeaderAction.Key"/>): name, value.</summary>
    internal List<KeyValuePair<string, string>>? KeyedHeaders;

    /// <summary>The request has content (Content-Length above 0, chunked, an HTTP/2 stream with data).</summary>
    internal bool RequestHasContent;

    /// <summary>The GraphQL operation of a request on a GraphQL route (docs/graphql.md), or null.</summary>
    internal GraphQL.GraphQLRequest? GraphQL;

    /// <summary>The feature that holds the upstream response now being fetched (<see cref="FetchDecision.Inspect"/>), or null.</summary>
    internal IHeldResponses? HeldBy;

    /// <summary>What features keyed on beyond the URL made of the request (an image variant), for the response's holder.</summary>
    internal object? Variant;

    /// <summary>Every cookie left on the request is in its key (<c>Key:ForwardOnlyKeyedCookies</c>): Cookie is no credential then.</summary>
    internal bool CookiesKeyed;

    /// <summary>The key holds the caller's Authorization value: a response to it is that caller's alone.</summary>
    internal bool KeyedOnCaller;

    /// <summary>The query that goes into the key in place of the request's (a GraphQL GET's, without its GraphQL parameters), or null.</summary>
    internal string? KeyQuery;

    /// <summary>Whether the request is a read the cache answers: a GET or HEAD, or a GraphQL query.</summary>
    internal bool IsRead => GraphQL is { IsQuery: true } || HttpMethods.IsGet(HttpContext.Request.Method) || HttpMethods.IsHead(HttpContext.Request.Method);

    /// <summary>Whether a response to the request may be stored: a GET, or a GraphQL query (RFC 9111 §3 leaves other methods to what the cache understands).</summary>
    internal bool IsStorableMethod => GraphQL is { IsQuery: true } || HttpMethods.IsGet(HttpContext.Request.Method);

    /// <summary>What the last lookup found; replaced whole by <see cref="Looked"/>.</summary>
    // Read by reference: a lookup and a candidate are a few words each, and the hit path reads them often.
    internal ref readonly Lookup Lookup => ref _lookup;

    /// <summary>The stored response the serve-from-cache phase considers (<see cref="Consider"/>); default when none.</summary>
    internal ref readonly Candidate Candidate => ref _candidate;

    private Lookup _lookup;
    private Candidate _candidate;

    /// <summary>When the cache began answering, for the hit duration.</summary>
    internal long Started;

    internal bool HasTags => _tags is { Count: > 0 };

    /// <summary>What the request is counted under in <c>cacheproxy.requests</c>: the route id, with the app's metric dimensions when it has any.</summary>
    internal string MetricKey = string.Empty;

    internal void Start(HttpContext context, Endpoint endpoint, string routeId)
    {
        HttpContext = context;
        Endpoint = endpoint;
        RouteId = routeId;
        MetricKey = routeId;
    }

    /// <summary>Takes what a lookup found, forgetting everything an earlier lookup left.</summary>
    internal void Looked(in Lookup lookup)
    {
        _lookup = lookup;
        _candidate = default;
        RequireRevalidation = false;
    }

    /// <summary>Considers <paramref name="candidate"/> for reuse; the serve-from-cache policies then see it.</summary>
    internal void Consider(in Candidate candidate)
    {
        _candidate = candidate;
        RequireRevalidation = false;
    }

    /// <summary>Reads the request's Cache-Control; false when it refuses stored responses (no-cache, or Pragma: no-cache without Cache-Control).</summary>
    internal bool ReadRequestDirectives()
    {
        var headers = HttpContext.Request.Headers;
        RequestCacheControl = CacheControl.Parse(headers.CacheControl);
        // RFC 9111 §5.4: Pragma: no-cache counts as no-cache only when Cache-Control is absent.
        RequestNoCache = RequestCacheControl.NoCache || (!RequestCacheControl.Present && PragmaNoCache(headers.Pragma));
        return !RequestNoCache;
    }

    private static bool PragmaNoCache(Microsoft.Extensions.Primitives.StringValues pragma)
    {
        foreach (var line in pragma)
        {
            if (line is not null && line.Contains("no-cache", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    internal void Reset()
    {
        HttpContext = null!;
        Endpoint = null!;
        RouteId = MetricKey = string.Empty;
        EnableCaching = AllowCacheLookup = AllowCacheStorage = true;
        _lookup = default;
        _candidate = default;
        RequireRevalidation = false;
        FreshnessLifetime = null;
        SetCookie = null;
        _tags?.Clear();
        RequestCacheControl = default;
        RequestNoCache = false;
        Key = null;
        KeyedHeaders?.Clear();
        RequestHasContent = false;
        GraphQL = null;
        KeyQuery = null;
        KeyedOnCaller = false;
        CookiesKeyed = false;
        HeldBy = null;
        Variant = null;
        Started = 0;
    }
}
