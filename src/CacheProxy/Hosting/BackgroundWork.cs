using CacheProxy.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Hosting;

/// <summary>
/// The one place CacheProxy runs work that outlives the request that caused it (stale-while-revalidate refreshes;
/// later warming and purge fan-out). Work is tracked while it runs and gets a token that is cancelled when the host
/// gives up waiting at shutdown: <see cref="StopAsync"/> refuses new work, waits for the running work until the
/// host's shutdown timeout, then cancels it. Work runs without the flow of the request that started it (no log
/// scope, no parent span), and a failure is logged and counted, never thrown.
/// </summary>
internal sealed class BackgroundWork : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly CacheProxyMetrics _metrics;
    private TaskCompletionSource? _idle;
    private int _running;
    private bool _stopped;

    public BackgroundWork(ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _logger = loggers.CreateLogger(LogCategories.Internal);
        _metrics = metrics;
        metrics.Meter.CreateObservableUpDownCounter("cacheproxy.background.running", () => Volatile.Read(ref _running), "{task}",
            "Background work running now (refreshes, warming, purge fan-out).");
    }

    /// <summary>Starts <paramref name="work"/> on the thread pool; false (and nothing runs) once the host is stopping.</summary>
    /// <param name="name">A fixed name for logs.</param>
    /// <param name="work">The work; its token is cancelled when shutdown stops waiting for it.</param>
    public bool TryStart(string name, Func<CancellationToken, Task> work)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return false;
            }
            _running++;
        }
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RunAsync(name, work));
        }
        return true;
    }

    private async Task RunAsync(string name, Func<CancellationToken, Task> work)
    {
        try
        {
            await work(_cancel.Token);
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            // shutdown stopped waiting for it
        }
        catch (Exception ex)
        {
            _metrics.Error(ErrorCategory.Internal);
            Log.BackgroundWorkFailed(_logger, name, ex);
        }
        finally
        {
            lock (_lock)
            {
                if (--_running == 0 && _idle is not null)
                {
                    _idle.TrySetResult();
                    _idle = null;
                }
            }
        }
    }

    /// <summary>Completes when no work is running.</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock)
        {
            return _running == 0 ? Task.CompletedTask : (_idle ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Refuses new work and waits for the running work until <paramref name="cancellationToken"/> (the host's shutdown timeout), then cancels it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _stopped = true;
        }
        try
        {
            await WhenIdleAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await _cancel.CancelAsync();
        }
    }

    // Not disposed: work still running holds its token, and a source without a timer holds nothing to release.
    public void Dispose() => _cancel.Cancel();
}
