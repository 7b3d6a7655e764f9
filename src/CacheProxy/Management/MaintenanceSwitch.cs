namespace CacheProxy.Management;

/// <summary>The maintenance switch as <c>POST /maintenance</c> set it (configuration can turn maintenance on besides).</summary>
/// <param name="Enabled">Whether maintenance mode is on.</param>
/// <param name="RetryAfter">The Retry-After of the 503 answered meanwhile.</param>
/// <param name="AllowedNetworks">Client networks (CIDR) that pass through meanwhile.</param>
/// <param name="Changed">When it was set.</param>
/// <param name="ChangedBy">Who set it: the API key's name.</param>
public sealed record MaintenanceSwitch(bool Enabled, TimeSpan RetryAfter, IReadOnlyList<string> AllowedNetworks, DateTimeOffset Changed, string ChangedBy);

/// <summary>
/// Where the maintenance switch is kept. The default keeps it in this process; CacheProxy.Redis keeps it in Redis, so
/// that every instance shares it and it survives restarts.
/// </summary>
public interface IMaintenanceSwitchStore
{
    /// <summary>Reads the switch as last set anywhere; null when it was never set (or cannot be read now).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The switch, or null.</returns>
    ValueTask<MaintenanceSwitch?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="value"/> and tells every other instance.</summary>
    /// <param name="value">The switch.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>False when it could not be kept or shared (this instance applies it all the same).</returns>
    ValueTask<bool> WriteAsync(MaintenanceSwitch value, CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="changed"/> with every switch another instance sets, until <paramref name="cancellationToken"/>.</summary>
    /// <param name="changed">The handler.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    void Subscribe(Action<MaintenanceSwitch> changed, CancellationToken cancellationToken);
}

/// <summary>The switch in this process only: nothing to share it with, lost on restart (configuration is the durable way).</summary>
internal sealed class LocalMaintenanceSwitchStore : IMaintenanceSwitchStore
{
    private MaintenanceSwitch? _value;

    public ValueTask<MaintenanceSwitch?> ReadAsync(CancellationToken cancellationToken) => new(Volatile.Read(ref _value));

    public ValueTask<bool> WriteAsync(MaintenanceSwitch value, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _value, value);
        return new(true);
    }

    public void Subscribe(Action<MaintenanceSwitch> changed, CancellationToken cancellationToken)
    {
    }
}
