namespace CacheProxy.Storage;

/// <summary>The maintenance switch as <c>POST /maintenance</c> set it (configuration can turn maintenance on besides).</summary>
/// <param name="Enabled">Whether maintenance mode is on.</param>
/// <param name="RetryAfter">The Retry-After of the 503 answered meanwhile.</param>
/// <param name="AllowedNetworks">Client networks (CIDR) that pass through meanwhile.</param>
/// <param name="Changed">When it was set.</param>
/// <param name="ChangedBy">Who set it: the API key's name.</param>
public sealed record MaintenanceSwitch(bool Enabled, TimeSpan RetryAfter, IReadOnlyList<string> AllowedNetworks, DateTimeOffset Changed, string ChangedBy);
