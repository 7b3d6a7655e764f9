namespace CacheProxy.Configuration;

/// <summary>What a route keys on beyond the URL (<c>CacheProxy:Routes:{id}:Key</c>, docs/experiments.md).</summary>
public sealed class RouteKeyOptions
{
    /// <summary>
    /// Gets the cookies whose values key the route's entries, by name (case-sensitive, as cookies are): for example
    /// <c>currency</c> and <c>lang</c>. A request without one shares the entry of the URL alone. A session cookie here
    /// makes every entry a user's own (a warning at startup, event 1307).
    /// </summary>
    public IList<string> Cookies { get; } = [];

    /// <summary>
    /// Gets or sets whether only the keyed cookies go upstream: every other cookie is removed from the forwarded
    /// <c>Cookie</c> field. Then a response cannot depend on more than the key holds, and a request whose cookies are
    /// all keyed no longer counts as carrying credentials (docs/security.md).
    /// </summary>
    /// <value>Default false: every cookie is forwarded, and the credential rules apply.</value>
    public bool ForwardOnlyKeyedCookies { get; set; }
}
