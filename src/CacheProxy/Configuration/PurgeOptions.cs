namespace CacheProxy.Configuration;

/// <summary>Purges and invalidations (<c>CacheProxy:Purge</c>, docs/purge.md).</summary>
public sealed class PurgeOptions
{
    /// <summary>
    /// Gets or sets how long a purge is remembered: stored responses filled before it are checked against it until
    /// then. A response filled longer ago than this (or than a gap in what an instance heard) cannot be vouched for
    /// and is revalidated once before it is served again. With Redis, also how long the shared invalidation log
    /// keeps a purge for instances that were disconnected or restart.
    /// </summary>
    /// <value>At least 1 minute. Default 1 day.</value>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Gets or sets how far instances' clocks may disagree. A purge made on one instance reaches responses another
    /// instance began to fill up to this long after the purge's time, so a filling instance whose clock runs ahead
    /// cannot keep a response it began to fetch just before the purge. The price: for this long after a purge, what
    /// other instances fill (or refresh) counts as purged too and is fetched again. With clocks kept in step (NTP
    /// keeps them within milliseconds) leave it at zero; the race it closes is then as wide as their disagreement.
    /// </summary>
    /// <value>0 to 1 minute. Default 0.</value>
    public TimeSpan ClockSkew { get; set; }

    /// <summary>Gets or sets how many URLs, tags and prefixes one purge request may name together.</summary>
    /// <value>1 to 10000. Default 1000.</value>
    public int MaxSelectors { get; set; } = 1000;

    /// <summary>Gets or sets the longest URL, tag or prefix a purge request may name, in characters.</summary>
    /// <value>1 to 8192. Default 2048.</value>
    public int MaxSelectorLength { get; set; } = 2048;

    /// <summary>
    /// Gets or sets how many URLs, tags and prefixes the invalidation ledger remembers at most. Past it, the oldest
    /// tenth is forgotten before its retention ends, and what was filled before the newest of those turns stale, as
    /// at the end of <see cref="Retention"/>: bounded memory, never a purged response served.
    /// </summary>
    /// <value>1000 to 100 million. Default 1 million (about 100 MB at the longest selectors, far less for URLs).</value>
    public int MaxLedgerEntries { get; set; } = 1_000_000;
}
