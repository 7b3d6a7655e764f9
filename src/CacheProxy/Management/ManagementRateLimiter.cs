using System.Threading.RateLimiting;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>
/// Failed management authentications per client address (System.Threading.RateLimiting): each failure takes a permit
/// of a fixed one-minute window; an address with none left is refused (429) whatever it sends until the window ends.
/// </summary>
internal sealed class ManagementRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;

    public ManagementRateLimiter(LastGoodOptions options)
    {
        var permits = options.Current.Management.FailedAttemptsPerMinute;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
    }

    /// <summary>Whether the caller's address has used up its failures for now.</summary>
    public bool IsBlocked(HttpContext context)
    {
        using var lease = _failures.AttemptAcquire(Address(context), 0);
        return !lease.IsAcquired;
    }

    /// <summary>Counts a failed attempt; false when it was one too many.</summary>
    public bool Failed(HttpContext context)
    {
        using var lease = _failures.AttemptAcquire(Address(context), 1);
        return lease.IsAcquired;
    }

    /// <summary>The client's address; in-process callers (no address) share one partition.</summary>
    public static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "local";

    public void Dispose() => _failures.Dispose();
}
