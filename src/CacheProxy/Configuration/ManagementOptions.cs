namespace CacheProxy.Configuration;

/// <summary>Where management endpoints (health, later purge, stats, metrics) answer.</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// Gets or sets the local port of the management listener. When set, endpoints mapped by
    /// <c>MapCacheProxyManagement</c> answer only on it, and nothing else answers there. When null, no port
    /// separation is applied (use only in development).
    /// </summary>
    /// <value>1 to 65535, or null. Default null.</value>
    public int? Port { get; set; }
}
