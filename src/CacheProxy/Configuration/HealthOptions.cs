namespace CacheProxy.Configuration;

/// <summary>What readiness (<c>/health/ready</c>) requires (<c>CacheProxy:Health</c>, docs/operations/health.md).</summary>
public sealed class HealthOptions
{
    /// <summary>
    /// Gets or sets whether readiness fails (503) when no upstream cluster has an available destination (YARP's
    /// active or passive health checks marked every one unhealthy). The price of true: when the origin is down for
    /// every instance, every instance leaves the load balancer's rotation and nothing, not even stored responses
    /// (stale-if-error), is served. False reports it as Degraded and keeps the instance in rotation.
    /// </summary>
    /// <value>Default true.</value>
    public bool RequireHealthyUpstream { get; set; } = true;
}
