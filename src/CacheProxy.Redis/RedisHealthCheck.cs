using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheProxy.Redis;

/// <summary>
/// Redis's part of readiness: Degraded, never Unhealthy, while Redis is unreachable or its circuit is open — the
/// gateway still serves from memory and origin.
/// </summary>
internal sealed class RedisHealthCheck(RedisConnection connection, RedisCacheStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection.Multiplexer is not { IsConnected: true })
        {
            return Task.FromResult(HealthCheckResult.Degraded("Redis is unreachable; serving from the memory tier and the origin."));
        }
        if (store.Breaker != BreakerState.Closed)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"Redis circuit is {store.Breaker}; serving from the memory tier and the origin."));
        }
        return Task.FromResult(HealthCheckResult.Healthy("Redis answers."));
    }
}
