using System.Threading.RateLimiting;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>
/// Wrong API keys per client address (System.Threading.RateLimiting): each takes a permit of a fixed one-minute
/// window; from an address with none left, a wrong key is answered 429 until the window ends. It bounds what failed
/// sign-ins cost and tells a script to back off; a right key is taken from any address (the keys' length is what
/// makes them unguessable), and a call without a key is the browser's sign-in handshake, never counted.
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
