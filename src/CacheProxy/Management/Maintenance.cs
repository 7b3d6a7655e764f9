using System.Net;
using CacheProxy.Storage;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Management;

/// <summary>Maintenance mode as it is in effect: on by configuration or by the switch, with its Retry-After and allowed networks.</summary>
internal sealed record MaintenanceState(bool Enabled, TimeSpan RetryAfter, IReadOnlyList<string> AllowedNetworks, string Source)
{
    public static readonly MaintenanceState Off = new(false, TimeSpan.Zero, [], "none");

    public IPNetwork[] Parsed { get; } = Networks.Parse(AllowedNetworks);
}

/// <summary>
/// Maintenance mode: on when <see cref="MaintenanceOptions.Enabled"/> says so or the switch (<c>POST /maintenance</c>,
/// kept by the <see cref="IMaintenanceSwitchStore"/>: shared by every instance and kept across restarts with Redis)
/// is on. While on, requests from outside the allowed networks get what is stored, even stale, and 503 otherwise
/// (<see cref="Caching.CacheEngine"/>); the state shows in readiness, <c>cacheproxy.maintenance</c> and event 1710.
/// </summary>
internal sealed class Maintenance : IHostedService, IDisposable
{
    private readonly LastGoodOptions _options;
    private readonly IMaintenanceSwitchStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private MaintenanceSwitch? _switch;
    private Snapshot? _snapshot;

    public Maintenance(LastGoodOptions options, IMaintenanceSwitchStore store, TimeProvider time, ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _options = options;
        _store = store;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Lifecycle);
        metrics.Meter.CreateObservableGauge("cacheproxy.maintenance", () => Current.Enabled ? 1 : 0, "{instance}",
            "1 while maintenance mode is on (by configuration or POST /maintenance), else 0.");
        options.Changed += OnOptionsChanged;
    }

    /// <summary>Gets the state in effect, recomputed only when the options or the switch changed.</summary>
    public MaintenanceState Current
    {
        get
        {
            var options = _options.Current;
            var switched = Volatile.Read(ref _switch);
            var snapshot = Volatile.Read(ref _snapshot);
            if (snapshot is not null && ReferenceEquals(snapshot.Options, options) && ReferenceEquals(snapshot.Switch, switched))
            {
                return snapshot.State;
            }
            snapshot = new Snapshot(options, switched, Combine(options.Maintenance, switched));
            Volatile.Write(ref _snapshot, snapshot);
            return snapshot.State;
        }
    }

    /// <summary>Whether maintenance mode holds for this request: it is on and the client is not in an allowed network.</summary>
    public bool Applies(HttpContext context)
    {
        var state = Current;
        return state.Enabled && (context.Connection.RemoteIpAddress is not { } address || !Networks.Contains(state.Parsed, address));
    }

    /// <summary>Sets the switch here and in the store; false when the store could not keep or share it (it holds here all the same).</summary>
    public async Task<bool> SetAsync(bool enabled, TimeSpan retryAfter, IReadOnlyList<string> allowedNetworks, string caller)
    {
        var value = new MaintenanceSwitch(enabled, retryAfter, allowedNetworks, _time.GetUtcNow(), caller);
        Apply(value, caller);
        var shared = await _store.WriteAsync(value, CancellationToken.None);
        if (!shared)
        {
            Log.MaintenanceNotShared(_logger, caller);
        }
        return shared;
    }

    private static MaintenanceState Combine(MaintenanceOptions configured, MaintenanceSwitch? switched) => (configured.Enabled, switched?.Enabled == true) switch
    {
        (true, true) => new(true, switched!.RetryAfter, [.. configured.AllowedNetworks, .. switched.AllowedNetworks], "configuration and switch"),
        (true, false) => new(true, configured.RetryAfter, [.. configured.AllowedNetworks], "configuration"),
        (false, true) => new(true, switched!.RetryAfter, [.. configured.AllowedNetworks, .. switched.AllowedNetworks], "switch"),
        _ => MaintenanceState.Off,
    };

    /// <summary>
    /// Takes <paramref name="value"/> unless it or a newer switch is in effect already (messages can cross, and the
    /// store is read again after every reconnect).
    /// </summary>
    private void Apply(MaintenanceSwitch value, string by)
    {
        lock (_lock)
        {
            if (_switch is { } existing && (existing.Changed > value.Changed || Same(existing, value)))
            {
                return;
            }
            Volatile.Write(ref _switch, value);
        }
        LogState(by);
    }

    private static bool Same(MaintenanceSwitch a, MaintenanceSwitch b) =>
        a.Enabled == b.Enabled && a.RetryAfter == b.RetryAfter && a.Changed == b.Changed && a.ChangedBy == b.ChangedBy
        && a.AllowedNetworks.SequenceEqual(b.AllowedNetworks);

    private void OnOptionsChanged(CacheProxyOptions before, CacheProxyOptions after)
    {
        if (before.Maintenance.Enabled != after.Maintenance.Enabled)
        {
            LogState("configuration");
        }
    }

    private void LogState(string by)
    {
        var state = Current;
        Log.MaintenanceChanged(_logger, state.Enabled, state.Source, state.RetryAfter, string.Join(", ", state.AllowedNetworks), by);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _store.Subscribe(value => Apply(value, "another instance (" + value.ChangedBy + ")"), _stopping.Token);
        if (await _store.ReadAsync(cancellationToken) is { } stored)
        {
            Apply(stored, "the stored switch (" + stored.ChangedBy + ")");
        }
        else if (Current.Enabled)
        {
            LogState("configuration");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    // Disposed twice (as itself and as a hosted service); a source without a timer holds nothing to release.
    public void Dispose()
    {
        _options.Changed -= OnOptionsChanged;
        _stopping.Cancel();
    }

    private sealed record Snapshot(CacheProxyOptions Options, MaintenanceSwitch? Switch, MaintenanceState State);
}
