namespace CacheProxy.Configuration;

/// <summary>
/// Maintenance mode set by configuration (<c>CacheProxy:Maintenance</c>, docs/operations/maintenance.md). It is on when
/// this says so or when <c>POST /maintenance</c> turned it on.
/// </summary>
public sealed class MaintenanceOptions
{
    /// <summary>Gets or sets whether maintenance mode is on by configuration (<c>POST /maintenance</c> cannot turn this off).</summary>
    /// <value>Default false.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets the Retry-After of the 503 answered while maintenance mode is on.</summary>
    /// <value>1 second to 1 day. Default 120 seconds.</value>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Gets the client networks (CIDR) that pass through to the upstream while maintenance mode is on.</summary>
    /// <value>Default none.</value>
    public IList<string> AllowedNetworks { get; } = [];
}
