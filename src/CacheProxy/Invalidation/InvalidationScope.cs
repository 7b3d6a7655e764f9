namespace CacheProxy.Storage;

/// <summary>What an invalidation applies to.</summary>
public enum InvalidationScope
{
    /// <summary>
    /// The responses stored for one URL: every entry whose cache key, up to the values key customizers add, is the
    /// value — its Vary variants included.
    /// </summary>
    Key = 0,

    /// <summary>Every entry whose cache key starts with the value.</summary>
    Prefix = 1,

    /// <summary>Every entry stored with the tag (surrogate key).</summary>
    Tag = 2,

    /// <summary>Every entry (also sent, soft, when the bus cannot vouch for what was purged meanwhile).</summary>
    All = 3,
}
