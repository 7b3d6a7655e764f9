using Microsoft.AspNetCore.Http;

namespace CacheProxy.Configuration;

/// <summary>
/// A named A/B experiment (<c>CacheProxy:Experiments:{name}</c>, docs/experiments.md): each visitor of a route that
/// lists it is assigned a bucket by weight, sticky through a cookie, sent upstream in a header and keyed on.
/// </summary>
public sealed class ExperimentOptions
{
    /// <summary>Gets the buckets and their weights in percent, which add up to 100; a bucket of weight 0 gets nobody.</summary>
    public IDictionary<string, int> Buckets { get; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Gets or sets the cookie that keeps a visitor's assignment.</summary>
    /// <value>Null (default): <c>cp_exp_{name}</c>.</value>
    public string? CookieName { get; set; }

    /// <summary>Gets or sets the request field the bucket goes upstream in (one a client sent is replaced).</summary>
    /// <value>Null (default): <c>CacheProxy-Experiment-{name}</c>.</value>
    public string? Header { get; set; }

    /// <summary>Gets or sets how long the cookie lasts.</summary>
    /// <value>Default 30 days; 1 minute to 400 days.</value>
    public TimeSpan CookieMaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Gets or sets the cookie's Domain attribute.</summary>
    /// <value>Null (default): none, the cookie is the host's.</value>
    public string? CookieDomain { get; set; }

    /// <summary>Gets or sets whether the cookie is sent over HTTPS only.</summary>
    /// <value>Default true.</value>
    public bool Secure { get; set; } = true;

    /// <summary>Gets or sets whether scripts cannot read the cookie.</summary>
    /// <value>Default true.</value>
    public bool HttpOnly { get; set; } = true;

    /// <summary>Gets or sets the cookie's SameSite attribute.</summary>
    /// <value>Default <see cref="SameSiteMode.Lax"/>.</value>
    public SameSiteMode SameSite { get; set; } = SameSiteMode.Lax;
}
