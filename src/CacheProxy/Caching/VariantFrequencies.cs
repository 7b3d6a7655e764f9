using BitFaster.Caching.Lfu;

namespace CacheProxy.Caching;

/// <summary>
/// How often each variant of each URL was fetched lately, to decide which variant makes room and whether a new one is
/// worth it (TinyLFU's admission, on BitFaster.Caching's count-min sketch, which ages its counts). A value sent once —
/// junk in a Vary'd field — never displaces a variant clients come back for, even one the flood pushed out before it
/// was asked for again: its next fetch counts. Counted on fills only (a hit marks its entry reused instead), under a
/// lock: fills are rare next to hits.
/// </summary>
internal sealed class VariantFrequencies
{
    private readonly Lock _lock = new();
    private readonly CmSketch<string> _sketch = new(1 << 16, StringComparer.Ordinal);

    /// <summary>Counts a fetch of the variant <paramref name="suffix"/> of <paramref name="primaryKey"/>; its frequency after it.</summary>
    public int Fetched(string primaryKey, string suffix)
    {
        var name = Name(primaryKey, suffix);
        lock (_lock)
        {
            _sketch.Increment(name);
            return _sketch.EstimateFrequency(name);
        }
    }

    /// <summary>The variant's frequency now.</summary>
    public int Of(string primaryKey, string suffix)
    {
        var name = Name(primaryKey, suffix);
        lock (_lock)
        {
            return _sketch.EstimateFrequency(name);
        }
    }

    private static string Name(string primaryKey, string suffix) => string.Concat(primaryKey, "\u001F", suffix);
}
