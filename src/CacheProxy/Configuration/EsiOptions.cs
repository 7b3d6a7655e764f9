namespace CacheProxy.Configuration;

/// <summary>
/// Edge Side Includes (<c>CacheProxy:Esi</c>): pages assembled from separately cached fragments. Off by default; a
/// response is processed only when it negotiated it (<c>Surrogate-Control: content="ESI/1.0"</c>) and is of one of
/// <see cref="ContentTypes"/>. docs/esi.md.
/// </summary>
public sealed class EsiOptions
{
    /// <summary>Gets or sets whether every route processes ESI; a route can turn it on or off (<see cref="RouteCacheOptions.Esi"/>).</summary>
    /// <value>Default false.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the media types processed (exact, compared without parameters). Replaced as a whole by configuration.</summary>
    /// <value>Default <c>text/html</c>.</value>
    public string[] ContentTypes { get; set; } = ["text/html"];

    /// <summary>Gets or sets how deep includes nest: a fragment of a page is depth 1, a fragment it includes depth 2.</summary>
    /// <value>1 to 10. Default 3.</value>
    public int MaxDepth { get; set; } = 3;

    /// <summary>Gets or sets how many fragments one assembled response fetches, nested ones and alt included.</summary>
    /// <value>1 to 1000. Default 64.</value>
    public int MaxFragments { get; set; } = 64;

    /// <summary>Gets or sets how many bytes the fragments of one assembled response may add up to, nested ones included.</summary>
    /// <value>Bytes, 1 or more. Default 8 MiB.</value>
    public long MaxAssembledBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>Gets or sets how long one fragment may take, its nested fragments included.</summary>
    /// <value>10 ms to 5 minutes. Default 10 seconds.</value>
    public TimeSpan FragmentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets whether an assembled response names each fragment and its Cache-Status (or why it failed) in a
    /// <c>CacheProxy-Fragment</c> field, one per include. For debugging: every client sees the fragments' URLs, and the
    /// head waits for every fragment (no streaming).
    /// </summary>
    /// <value>Default false.</value>
    public bool FragmentStatus { get; set; }

    /// <summary>Gets or sets what a fragment that fails without <c>alt</c> or <c>onerror="continue"</c> does to its page.</summary>
    /// <value>Default <see cref="EsiFragmentFailure.Fail"/>.</value>
    public EsiFragmentFailure OnFragmentError { get; set; } = EsiFragmentFailure.Fail;
}

/// <summary>A route's ESI settings (<c>CacheProxy:Routes:{routeId}:Esi</c>); a null value follows <see cref="EsiOptions"/>.</summary>
public sealed class RouteEsiOptions
{
    /// <summary>Gets or sets whether the route processes ESI.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Gets or sets what a failing fragment does to the route's pages.</summary>
    public EsiFragmentFailure? OnFragmentError { get; set; }

    /// <summary>
    /// Gets or sets the cookies <c>$(HTTP_COOKIE{name})</c> may read on the route's pages; any other reads as unset.
    /// </summary>
    /// <value>Default none.</value>
    public string[] Cookies { get; set; } = [];

    /// <summary>
    /// Gets or sets the hosts other than the page's own that the route's includes may name in an absolute <c>src</c>;
    /// they are fetched through this gateway's routes like any request for that host.
    /// </summary>
    /// <value>Default none.</value>
    public string[] AllowedHosts { get; set; } = [];
}

/// <summary>What a failing fragment (no <c>alt</c> that answers, no <c>onerror="continue"</c>) does to its page.</summary>
public enum EsiFragmentFailure
{
    /// <summary>
    /// The page fails: 502 problem+json when the failure is known before the response starts, else the connection is
    /// closed before the response is complete (a client never takes a page with a hole for a whole one).
    /// </summary>
    Fail,

    /// <summary>The fragment is left out; the page is served.</summary>
    Empty,
}
