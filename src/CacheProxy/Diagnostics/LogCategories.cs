namespace CacheProxy;

/// <summary>One log category per area, so operators can route and filter them (e.g. security events apart).</summary>
public static class LogCategories
{
    /// <summary>Cache decisions: hits, misses, stores, invalidations, refreshes.</summary>
    public const string Cache = "CacheProxy.Cache";

    /// <summary>Cache stores: memory tier, Redis.</summary>
    public const string Store = "CacheProxy.Store";

    /// <summary>Upstream failures and timeouts.</summary>
    public const string Upstream = "CacheProxy.Upstream";

    /// <summary>Purges and tags.</summary>
    public const string Purge = "CacheProxy.Purge";

    /// <summary>Refused management calls, replaced request ids and other security-relevant events.</summary>
    public const string Security = "CacheProxy.Security";

    /// <summary>Drain and shutdown, maintenance mode: what changes whether and how the instance serves.</summary>
    public const string Lifecycle = "CacheProxy.Lifecycle";

    /// <summary>Configuration problems and reloads.</summary>
    public const string Configuration = "CacheProxy.Configuration";

    /// <summary>Faults in CacheProxy itself.</summary>
    public const string Internal = "CacheProxy.Internal";
}
