namespace CacheProxy.Configuration;

/// <summary>
/// What a shared cache does with a response carrying Set-Cookie. RFC 9111 lets it store the field (§3.1, §8); then
/// every client that gets the stored response gets the first client's cookie — a session, a CSRF token.
/// </summary>
public enum SetCookiePolicy
{
    /// <summary>Do not store the response (nginx, Varnish and Fastly do the same by default). The safe default.</summary>
    DoNotStore = 0,

    /// <summary>
    /// Store the response without its Set-Cookie: the client whose request fetched it gets the cookie, hits do not.
    /// For origins that set a cookie on pages that are otherwise the same for everyone (a consent or A/B cookie).
    /// </summary>
    StoreWithoutSetCookie = 1,

    /// <summary>
    /// Store the response with its Set-Cookie, when the origin gave explicit freshness (max-age, s-maxage, Expires) or
    /// public, and replay the cookie on every hit. Only for cookies that are the same for every client.
    /// </summary>
    StoreWithSetCookie = 2,
}
