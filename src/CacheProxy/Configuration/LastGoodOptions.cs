using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Configuration;

/// <summary>
/// The one holder of the <see cref="CacheProxyOptions"/> in effect: read from a field on every request, replaced
/// when configuration reloads and the new value passes validation. A reload that fails validation keeps the last
/// good value (the validator logs every error, this logs that the old value stays). Built on the options factory
/// and change-token sources rather than <see cref="IOptionsMonitor{TOptions}"/>, whose reload throws inside the
/// configuration's change callback when validation fails.
/// </summary>
internal sealed class LastGoodOptions : IDisposable
{
    private readonly IOptionsFactory<CacheProxyOptions> _factory;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _registrations = [];
    private readonly System.Diagnostics.Metrics.Counter<long> _reloads;
    private CacheProxyOptions _current;
    private int _rejected;

    public LastGoodOptions(IOptionsFactory<CacheProxyOptions> factory, IEnumerable<IOptionsChangeTokenSource<CacheProxyOptions>> sources,
        ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _factory = factory;
        _logger = loggers.CreateLogger(LogCategories.Configuration);
        _reloads = metrics.Meter.CreateCounter<long>("cacheproxy.config.reloads", "{reload}",
            "CacheProxy configuration reloads, by result: applied, rejected (the last good configuration stays).");
        _current = factory.Create(Options.DefaultName); // validated at startup by ValidateOnStart already
        foreach (var source in sources)
        {
            if (source.Name == Options.DefaultName)
            {
                _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }
    }

    /// <summary>Gets the options in effect.</summary>
    public CacheProxyOptions Current => Volatile.Read(ref _current);

    /// <summary>Gets how many reloads were rejected since the process started.</summary>
    public int RejectedReloads => Volatile.Read(ref _rejected);

    private void Reload()
    {
        CacheProxyOptions next;
        try
        {
            next = _factory.Create(Options.DefaultName);
        }
        catch (OptionsValidationException ex)
        {
            Interlocked.Increment(ref _rejected);
            _reloads.Add(1, new KeyValuePair<string, object?>("result", "rejected"));
            Log.ConfigurationReloadRejected(_logger, ex.Failures.Count());
            return;
        }
        Volatile.Write(ref _current, next);
        _reloads.Add(1, new KeyValuePair<string, object?>("result", "applied"));
        Log.ConfigurationReloaded(_logger);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
