namespace CacheProxy.Configuration;

/// <summary>Cache warming (<c>CacheProxy:Warm</c>): how fast <c>POST /warm</c> asks for the URLs it is given (docs/operations/warming.md).</summary>
public sealed class WarmOptions
{
    /// <summary>Gets or sets how many warming requests may be in flight at once.</summary>
    /// <value>1 to 64. Default 4.</value>
    public int Concurrency { get; set; } = 4;

    /// <summary>Gets or sets how many warming requests may start per second, so that the origin is not stampeded.</summary>
    /// <value>0.1 to 10000. Default 50.</value>
    public double RequestsPerSecond { get; set; } = 50;

    /// <summary>Gets or sets the most URLs one warming job takes.</summary>
    /// <value>1 to 1,000,000. Default 100,000.</value>
    public int MaxUrls { get; set; } = 100_000;

    /// <summary>Gets or sets how long one warming request may take before it counts as failed.</summary>
    /// <value>1 second to 10 minutes. Default 30 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the public endpoint warming requests are sent to (they take the cache's own request path there,
    /// with each URL's host as Host), e.g. <c>http://127.0.0.1:8080</c>. Null: the first address the server listens
    /// on that is not the management port.
    /// </summary>
    /// <value>An absolute http(s) URL, or null. Default null.</value>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// Gets or sets how many <c>Link</c> preloads of one stored response are warmed, on a route with
    /// <see cref="RouteCacheOptions.WarmLinks"/>.
    /// </summary>
    /// <value>0 to 100. Default 8.</value>
    public int MaxLinksPerResponse { get; set; } = 8;

    /// <summary>
    /// Gets or sets a file of URLs to warm once the server listens: one URL per line (blank lines and lines starting
    /// with # left out), or a sitemap. Read once, at startup.
    /// </summary>
    /// <value>A path, or null (no warming at startup). Default null.</value>
    public string? StartupFile { get; set; }

    /// <summary>Gets or sets whether readiness fails until the startup warming job has ended, so traffic reaches only a warm instance.</summary>
    /// <value>Default false.</value>
    public bool GateReadiness { get; set; }
}
