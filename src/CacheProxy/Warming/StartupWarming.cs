using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Warming;

/// <summary>
/// Warming at startup (<see cref="WarmOptions.StartupFile"/>): once the server listens, the file's URLs are warmed
/// like a <c>POST /warm</c>; with <see cref="WarmOptions.GateReadiness"/> the <c>warming</c> readiness check is
/// Unhealthy until that job ends, so a blue-green switch or a rollout sends traffic only to a warm instance.
/// </summary>
internal sealed class StartupWarming(LastGoodOptions options, CacheWarmer warmer, IHostApplicationLifetime lifetime, ILoggerFactory loggers) : IHostedService
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Lifecycle);
    private volatile bool _pending;

    /// <summary>Whether the startup job has yet to end (not started, or running).</summary>
    public bool Pending => _pending;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Current.Warm.StartupFile is not { } file)
        {
            return Task.CompletedTask;
        }
        _pending = true;
        lifetime.ApplicationStarted.Register(() => _ = StartFromFileAsync(file)); // the server's addresses are known then
        return Task.CompletedTask;
    }

    private async Task StartFromFileAsync(string file)
    {
        try
        {
            var (urls, field, reason) = await WarmInput.ReadFileAsync(file, options.Current.Warm.MaxUrls);
            var refused = urls is null ? $"{file}: {field}: {reason}" : warmer.TryStart(urls, "startup", () => _pending = false);
            if (refused is not null)
            {
                Log.WarmStartupFailed(_logger, refused);
                _pending = false;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.WarmStartupFailed(_logger, $"{file}: {ex.Message}");
            _pending = false;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Readiness while the startup warming job runs: Unhealthy with <see cref="WarmOptions.GateReadiness"/>, else Healthy with the progress.</summary>
internal sealed class WarmingHealthCheck(StartupWarming startup, CacheWarmer warmer, LastGoodOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!startup.Pending)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No startup warming pending."));
        }
        var status = warmer.Status;
        var data = new Dictionary<string, object> { ["done"] = status.Done, ["count"] = status.Count };
        var description = $"Warming at startup: {status.Done} of {status.Count} done.";
        return Task.FromResult(options.Current.Warm.GateReadiness
            ? HealthCheckResult.Unhealthy(description, data: data)
            : HealthCheckResult.Healthy(description, data));
    }
}
