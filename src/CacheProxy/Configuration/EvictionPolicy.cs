namespace CacheProxy.Configuration;

/// <summary>Which entries the memory tier keeps when it is full (<see cref="CacheProxyOptions.Eviction"/>).</summary>
public enum EvictionPolicy
{
    /// <summary>
    /// W-TinyLFU by bytes, as Caffeine: new entries pass a small LRU window, then are admitted to the main space only
    /// when their keys were asked for more often than the entries they would replace; the window adapts to the
    /// traffic. Keeps hot entries through scans and one-hit wonders. The default.
    /// </summary>
    TinyLfu = 0,

    /// <summary>Least recently used, by bytes, as nginx and Varnish: every new entry is stored, the least recently used go first.</summary>
    Lru = 1,
}
