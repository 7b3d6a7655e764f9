namespace CacheProxy.Configuration;

/// <summary>Settings of the Redis shared tier, bound from <c>CacheProxy:Redis</c>.</summary>
public sealed class RedisOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis connection string, e.g. <c>redis1:6379,redis2:6379,password=…</c>.
    /// Required unless an <c>IConnectionMultiplexer</c> is registered in DI.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>Gets or sets the prefix of every Redis key and channel CacheProxy uses.</summary>
    /// <value>Default <c>cacheproxy:</c>.</value>
    public string KeyPrefix { get; set; } = "cacheproxy:";

    /// <summary>Gets or sets how long a connection attempt may take.</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets the soft timeout of every Redis call: past it the request goes on without Redis (a read is a
    /// miss, a write is dropped). Keep it well under your latency budget.
    /// </summary>
    /// <value>Default 250 milliseconds.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets the failure ratio within <see cref="BreakerSamplingDuration"/> that opens the circuit.</summary>
    /// <value>Above 0, at most 1. Default 0.5.</value>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Gets or sets the window over which failures are counted.</summary>
    /// <value>Default 10 seconds.</value>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how many calls the window needs before the circuit may open.</summary>
    /// <value>At least 2. Default 10.</value>
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Gets or sets how long an open circuit stays open before one probe call is let through.</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the body size above which a body is stored in chunks of this size.</summary>
    /// <value>Bytes, at least 1024. Default 262144 (256 KiB).</value>
    public int ChunkSize { get; set; } = 256 * 1024;

    /// <summary>
    /// Gets or sets how long an instance that cannot hear other instances' invalidations (its subscription is
    /// down) keeps serving its memory tier as it is. Past it, what it holds is revalidated before it is served —
    /// and again each such period — until it hears again and has read what it missed from the invalidation log.
    /// </summary>
    /// <value>At least 1 second. Default 30 seconds.</value>
    public TimeSpan MaxDisconnectedServing { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the lease of a claim on a key being fetched (cross-instance collapsing). The fetching instance
    /// renews it every third of the lease while the fetch runs; waiting instances look every lease whether it is
    /// still held. So an instance that dies mid-fetch stalls the key on the others for about one lease, not for
    /// <c>CacheProxy:CollapseTimeout</c>.
    /// </summary>
    /// <value>500 ms to 1 minute. Default 3 seconds.</value>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Gets or sets how many purges the invalidation log keeps at most (besides <c>CacheProxy:Purge:Retention</c>).</summary>
    /// <value>1000 to 10,000,000. Default 100,000.</value>
    public int InvalidationLogMaxLength { get; set; } = 100_000;
}
