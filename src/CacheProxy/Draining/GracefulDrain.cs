using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Draining;

/// <summary>
/// The first step of stopping. When the host is asked to stop (SIGTERM), readiness turns unhealthy at once and
/// HTTP/1.1 responses close their connections, while the gateway keeps serving for
/// <see cref="ShutdownOptions.DrainDelay"/> so that load balancers take it out of rotation and clients reconnect
/// elsewhere. Then the host goes on stopping: Kestrel stops accepting and waits for requests in flight,
/// <see cref="Hosting.BackgroundWork"/> for background work, both within the rest of the host's shutdown timeout.
/// </summary>
internal sealed class GracefulDrain : IHostedLifecycleService
{
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private int _draining;

    public GracefulDrain(LastGoodOptions options, TimeProvider time, IHostApplicationLifetime lifetime, ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _options = options;
        _time = time;
        _lifetime = lifetime;
        _logger = loggers.CreateLogger(LogCategories.Lifecycle);
        metrics.Meter.CreateObservableGauge("cacheproxy.draining", () => Volatile.Read(ref _draining), "{instance}",
            "1 while this instance drains before it stops, else 0.");
    }

    /// <summary>Gets whether the instance is stopping: not ready, closing connections.</summary>
    public bool Draining => Volatile.Read(ref _draining) != 0;

    /// <summary>While draining, makes <paramref name="response"/> close its HTTP/1.1 connection (HTTP/2 gets GOAWAY when Kestrel stops).</summary>
    public void CloseConnectionWhileDraining(HttpResponse response)
    {
        if (Draining)
        {
            response.OnStarting(static state => { ((HttpResponse)state).Headers.Connection = "close"; return Task.CompletedTask; }, response);
        }
    }

    private void Begin()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 0)
        {
            var shutdown = _options.Current.Shutdown;
            Log.DrainStarted(_logger, shutdown.DrainDelay, shutdown.Timeout);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The signal handler raises ApplicationStopping first; readiness must not wait for the host to get here.
        _lifetime.ApplicationStopping.Register(static state => ((GracefulDrain)state!).Begin(), this);
        return Task.CompletedTask;
    }

    /// <summary>Before anything stops: drain for the configured delay, cut short by the host's shutdown timeout.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        Begin();
        try
        {
            await Task.Delay(_options.Current.Shutdown.DrainDelay, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // the host's shutdown timeout ran out first
        }
        Log.DrainDelayOver(_logger);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
