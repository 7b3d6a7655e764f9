namespace CacheProxy.Configuration;

/// <summary>
/// Refresh ahead of expiry (<c>CacheProxy:RefreshAhead</c>): a fresh entry that is asked for often near the end of
/// its freshness lifetime is revalidated in the background before it expires — a conditional request, one per key
/// across instances — so that a hot object is never a miss or stale because of its TTL. Off unless enabled here
/// or per route (<see cref="RouteRefreshAheadOptions"/>); bounded by a rate and a concurrency (docs/caching.md).
/// </summary>
public sealed class RefreshAheadOptions
{
    /// <summary>Gets or sets whether routes refresh ahead unless their own setting says otherwise.</summary>
    /// <value>Default false.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the share of the freshness lifetime, at its end, in which hits count towards a refresh.</summary>
    /// <value>Greater than 0 and less than 1. Default 0.2 (the last fifth: from 48 s of a 60 s lifetime).</value>
    public double Threshold { get; set; } = 0.2;

    /// <summary>Gets or sets how many hits in that share start a refresh: what "asked for often" means.</summary>
    /// <value>At least 1. Default 2.</value>
    public int MinHits { get; set; } = 2;

    /// <summary>Gets or sets how many refreshes ahead may start per second on this instance; more wait for the entry's expiry (counted as skipped).</summary>
    /// <value>At least 1. Default 20.</value>
    public int MaxPerSecond { get; set; } = 20;

    /// <summary>Gets or sets how many refreshes ahead may be in flight at once on this instance: their share of the upstream connections.</summary>
    /// <value>1 to 1000. Default 4.</value>
    public int MaxConcurrent { get; set; } = 4;
}
