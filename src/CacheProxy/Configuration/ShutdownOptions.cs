namespace CacheProxy.Configuration;

/// <summary>How the gateway stops (<c>CacheProxy:Shutdown</c>, docs/operations/deploy.md).</summary>
public sealed class ShutdownOptions
{
    /// <summary>
    /// Gets or sets how long the gateway keeps serving after it was asked to stop (SIGTERM), with readiness already
    /// answering 503 and every HTTP/1.1 response closing its connection, so that load balancers take it out of
    /// rotation before it stops accepting connections. Match it to the load balancer's health-check interval times
    /// its unhealthy threshold (or to a Kubernetes preStop delay, which may then be shorter).
    /// </summary>
    /// <value>0 to 5 minutes. Default 0 (a library default; the sample gateway sets 5 seconds outside Development).</value>
    public TimeSpan DrainDelay { get; set; }

    /// <summary>
    /// Gets or sets how long, after the drain delay, requests in flight (slow uploads and downloads included) and
    /// background work (stale-while-revalidate refreshes) may take to finish before they are cancelled. The host's
    /// shutdown timeout is raised to at least <see cref="DrainDelay"/> plus this. Read at startup.
    /// </summary>
    /// <value>1 second to 1 hour. Default 30 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
