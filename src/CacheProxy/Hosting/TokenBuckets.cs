using System.Threading.RateLimiting;

namespace CacheProxy.Hosting;

/// <summary>The token buckets CacheProxy paces things with (warming's requests, each API key's purges).</summary>
internal static class TokenBuckets
{
    /// <summary>
    /// <paramref name="perSecond"/> permits a second, refilled in steps of at least 10 ms, bursting to one second's
    /// worth; <paramref name="queueLimit"/> permits may wait, oldest first.
    /// </summary>
    public static TokenBucketRateLimiterOptions PerSecond(double perSecond, int queueLimit) => new()
    {
        TokenLimit = Math.Max(1, (int)Math.Ceiling(perSecond)),
        TokensPerPeriod = perSecond <= 100 ? 1 : (int)Math.Round(perSecond / 100),
        ReplenishmentPeriod = perSecond <= 100 ? TimeSpan.FromSeconds(1 / perSecond) : TimeSpan.FromMilliseconds(10),
        QueueLimit = queueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    };
}
