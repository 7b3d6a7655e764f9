using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Management;

/// <summary>
/// What one API key may hold or ask of the management plane (System.Threading.RateLimiting, one partition per key
/// name): <see cref="ManagementOptions.EventStreamsPerKey"/> dashboard event streams open at once, and
/// <see cref="ManagementOptions.PurgesPerSecondPerKey"/> purges (a token bucket of one second's worth). Past either,
/// 429 problem+json (with Retry-After for purges), event 1604 and <c>cacheproxy.management.limited{limit}</c>. The
/// limiters follow a reload of the settings: new ones from then on, the leases held keep their old limiter.
/// </summary>
internal sealed class KeyLimits : IDisposable
{
    private readonly LastGoodOptions _options;
    private readonly ErrorShaping _errors;
    private readonly ILogger _logger;
    private readonly Counter<long> _limited;
    private readonly Lock _lock = new();
    private Limiters? _limiters;

    public KeyLimits(LastGoodOptions options, ErrorShaping errors, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _errors = errors;
        _logger = loggers.CreateLogger(LogCategories.Security);
        _limited = metrics.Meter.CreateCounter<long>("cacheproxy.management.limited", "{request}",
            "Management calls refused with 429 for a per-key limit, by limit: event_streams, purges.");
    }

    /// <summary>A lease on one event stream for the caller's key, or null after answering 429.</summary>
    public async Task<RateLimitLease?> TryOpenStreamAsync(HttpContext context)
    {
        var lease = Current().Streams.AttemptAcquire(Key(context));
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        await RefuseAsync(context, "event_streams", $"at most {_options.Current.Management.EventStreamsPerKey} dashboard event streams per API key (Management:EventStreamsPerKey)", retryAfter: null);
        return null;
    }

    /// <summary>Whether the caller's key may purge now; false after answering 429 with Retry-After.</summary>
    public async Task<bool> TryPurgeAsync(HttpContext context)
    {
        using var lease = Current().Purges.AttemptAcquire(Key(context));
        if (lease.IsAcquired)
        {
            return true;
        }
        var perSecond = _options.Current.Management.PurgesPerSecondPerKey;
        await RefuseAsync(context, "purges", $"at most {perSecond} purges per second per API key (Management:PurgesPerSecondPerKey)",
            retryAfter: Math.Max(1, (int)Math.Ceiling(1 / perSecond)));
        return false;
    }

    private Task RefuseAsync(HttpContext context, string limit, string detail, int? retryAfter)
    {
        _limited.Add(1, new KeyValuePair<string, object?>("limit", limit));
        Log.ManagementLimitReached(_logger, Key(context), detail);
        return _errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.TooManyRequests, ErrorCategory.Client, null), detail,
            headers: retryAfter is { } seconds ? [new(HeaderNames.RetryAfter, seconds.ToString(System.Globalization.CultureInfo.InvariantCulture))] : []);
    }

    /// <summary>The API key's name the caller signed in with (the management policy has authenticated it).</summary>
    private static string Key(HttpContext context) => context.User.Identity?.Name ?? "unknown";

    private Limiters Current()
    {
        var management = _options.Current.Management;
        var (streams, perSecond) = (management.EventStreamsPerKey, management.PurgesPerSecondPerKey);
        if (Volatile.Read(ref _limiters) is { } limiters && limiters.For == (streams, perSecond))
        {
            return limiters;
        }
        lock (_lock)
        {
            if (_limiters is { } made && made.For == (streams, perSecond))
            {
                return made;
            }
            var next = new Limiters((streams, perSecond),
                PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetConcurrencyLimiter(key,
                    _ => new ConcurrencyLimiterOptions { PermitLimit = streams, QueueLimit = 0 })),
                PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key,
                    _ => Hosting.TokenBuckets.PerSecond(perSecond, queueLimit: 0))));
            Volatile.Write(ref _limiters, next);
            return next; // the old limiters are left to their leases (a reload is rare)
        }
    }

    public void Dispose()
    {
        if (_limiters is { } limiters)
        {
            limiters.Streams.Dispose();
            limiters.Purges.Dispose();
        }
    }

    private sealed record Limiters((int Streams, double PurgesPerSecond) For, PartitionedRateLimiter<string> Streams, PartitionedRateLimiter<string> Purges);
}
