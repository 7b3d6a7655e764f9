using CacheProxy.Storage;
namespace CacheProxy.Management;

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
