namespace CacheProxy.Storage;

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
