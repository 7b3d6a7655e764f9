using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Configuration;

/// <summary>
/// The one holder of the <see cref="CacheProxyOptions"/> in effect: read from a field on every request, replaced
/// when configuration reloads and the new value passes validation. A reload that fails validation keeps the last
/// good value; every error is logged (1300), then that the old value stays (1301), and the rejection is counted. Built on the options factory
/// and change-token sources rather than <see cref="IOptionsMonitor{TOptions}"/>, whose reload throws inside the
/// configuration's change callback when validation fails.
/// </summary>
internal sealed class LastGoodOptions : IDisposable
{
    private readonly IOptionsFactory<CacheProxyOptions> _factory;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _registrations = [];
    private readonly CacheProxyMetrics _metrics;
    private CacheProxyOptions? _current;
    private int _rejected;

    public LastGoodOptions(IOptionsFactory<CacheProxyOptions> factory, IEnumerable<IOptionsChangeTokenSource<CacheProxyOptions>> sources,
        ILoggerFactory loggers, CacheProxyMetrics metrics)
    {
        _factory = factory;
        _logger = loggers.CreateLogger(LogCategories.Configuration);
        _metrics = metrics;
        // Created on first use, not here: services are built (MapReverseProxy builds YARP's, which hold this) before the
        // host's startup validation runs, and that validation is what reports invalid settings, all of them together.
        foreach (var source in sources)
        {
            if (source.Name == Options.DefaultName)
            {
                _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }
    }

    /// <summary>Gets the options in effect.</summary>
    public CacheProxyOptions Current => Volatile.Read(ref _current) ?? First();

    private CacheProxyOptions First()
    {
        var first = _factory.Create(Options.DefaultName);
        return Interlocked.CompareExchange(ref _current, first, null) ?? first;
    }

    /// <summary>Raised after a reload took effect, with the options before and after it.</summary>
    public event Action<CacheProxyOptions, CacheProxyOptions>? Changed;

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
            Log.ConfigurationInvalid(_logger, string.Join(" ", ex.Failures));
            _metrics.ConfigReloads.Add(1, new("source", "cacheproxy"), new("result", "rejected"));
            Log.ConfigurationReloadRejected(_logger, ex.Failures.Count());
            return;
        }
        var before = Volatile.Read(ref _current) ?? next;
        Volatile.Write(ref _current, next);
        _metrics.ConfigReloads.Add(1, new("source", "cacheproxy"), new("result", "applied"));
        Log.ConfigurationReloaded(_logger);
        Warn(_logger, next);
        Changed?.Invoke(before, next);
    }

    /// <summary>What is valid but likely not meant, at startup and on every reload: a route keyed on a session cookie (event 1307).</summary>
    internal static void Warn(ILogger logger, CacheProxyOptions options)
    {
        foreach (var (routeId, route) in options.Routes)
        {
            foreach (var cookie in route.Key.Cookies.Where(Caching.RouteKeying.LooksLikeSession))
            {
                Log.RouteKeyedPerUser(logger, routeId, cookie);
            }
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
