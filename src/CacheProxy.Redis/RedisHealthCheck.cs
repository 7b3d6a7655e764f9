using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheProxy.Redis;

/// <summary>
/// Redis's part of readiness: Degraded, never Unhealthy, while Redis is unreachable, its circuit is open or this
/// instance does not hear other instances' invalidations — the gateway still serves, from memory and origin.
/// </summary>
internal sealed class RedisHealthCheck(RedisConnection connection, RedisCalls calls, RedisInvalidationBus bus, TimeProvider time,
    Microsoft.Extensions.Options.IOptions<CacheProxy.Configuration.RedisOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection.Multiplexer is not { IsConnected: true })
        {
            return Task.FromResult(HealthCheckResult.Degraded("Redis is unreachable; serving from the memory tier and the origin."));
        }
        if (calls.Breaker != BreakerState.Closed)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"Redis circuit is {calls.Breaker}; serving from the memory tier and the origin."));
        }
        if (bus.DeafSince is { } since)
        {
            return Task.FromResult(HealthCheckResult.Degraded(since == DateTimeOffset.MinValue
                ? "The invalidation log has not been read yet; Redis entries are not served until it is."
                : $"Invalidations from other instances not heard for {(time.GetUtcNow() - since).TotalSeconds:F0} s; the memory tier is served for up to {options.Value.MaxDisconnectedServing.TotalSeconds:F0} s of that, then revalidated."));
        }
        return Task.FromResult(HealthCheckResult.Healthy("Redis answers; invalidations are heard."));
    }
}
