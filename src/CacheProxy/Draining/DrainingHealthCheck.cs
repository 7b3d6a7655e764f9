using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheProxy.Draining;

/// <summary>Unhealthy from the moment the instance was asked to stop, so load balancers stop sending to it.</summary>
internal sealed class DrainingHealthCheck(GracefulDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.Draining
            ? HealthCheckResult.Unhealthy("Draining: the instance is stopping.")
            : HealthCheckResult.Healthy("Not draining."));
}
