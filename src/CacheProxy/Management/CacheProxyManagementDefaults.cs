namespace CacheProxy;

/// <summary>Names of the management plane's authentication scheme and authorization policy; an app may register its own under them.</summary>
public static class CacheProxyManagementDefaults
{
    /// <summary>
    /// The authentication scheme of API keys (<c>CacheProxy:Management:ApiKeys</c>): <c>Authorization: Bearer {key}</c>,
    /// or HTTP Basic with the key as the password, for a browser.
    /// </summary>
    public const string AuthenticationScheme = "CacheProxy.ApiKey";

    /// <summary>
    /// The authorization policy of every management endpoint: the management port, an allowed network, and an
    /// authenticated caller where a key is needed. Replace it with <c>services.AddAuthorization(o =&gt; o.AddPolicy(…))</c>
    /// after <c>AddCacheProxy</c> to use your own scheme.
    /// </summary>
    public const string Policy = "CacheProxy.Management";
}
