using System.Collections.Concurrent;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Configuration;

/// <summary>
/// Settings files that reload (appsettings.json, the sample's settings directory): one that cannot be read on a reload
/// (not valid JSON, say) keeps its last good content instead of being emptied, which is what the configuration
/// system does by itself — YARP's routes and the CacheProxy settings of that file would then vanish with the next
/// reload. The failure is logged (event 1306), counted (<c>cacheproxy.config.reloads{source="file",result="rejected"}</c>)
/// and shown by readiness (<c>configuration</c> Degraded, naming the file) until the file loads again.
/// </summary>
internal sealed class SettingsFiles : IDisposable
{
    private readonly ILogger _logger;
    private readonly CacheProxyMetrics _metrics;
    private readonly ConcurrentDictionary<FileConfigurationProvider, KeyValuePair<string, string?>[]> _lastGood = new();
    private readonly ConcurrentDictionary<FileConfigurationProvider, bool> _restoring = new();
    private readonly ConcurrentDictionary<string, string> _invalid = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _registrations = [];

    public SettingsFiles(CacheProxyMetrics metrics, ILoggerFactory loggers, IConfiguration? configuration = null)
    {
        _logger = loggers.CreateLogger(LogCategories.Configuration);
        _metrics = metrics;
        if (configuration is not IConfigurationRoot root)
        {
            return;
        }
        foreach (var provider in root.Providers.OfType<FileConfigurationProvider>().Where(p => p.Source.ReloadOnChange))
        {
            _lastGood[provider] = Snapshot(provider);
            provider.Source.OnLoadException = Failed;
            _registrations.Add(ChangeToken.OnChange(provider.GetReloadToken, () => Loaded(provider)));
        }
    }

    /// <summary>Files whose last reload failed, with why; empty when every file loaded.</summary>
    public IReadOnlyDictionary<string, string> Invalid => _invalid;

    private void Loaded(FileConfigurationProvider provider)
    {
        if (_restoring.TryRemove(provider, out _))
        {
            return; // the reload that failed, its last good content put back
        }
        _lastGood[provider] = Snapshot(provider);
        _invalid.TryRemove(Name(provider), out _);
    }

    private void Failed(FileLoadExceptionContext context)
    {
        if (context.Provider is not FileConfigurationProvider provider || !_lastGood.TryGetValue(provider, out var lastGood))
        {
            return; // not one we watch (a first load): the configuration system reports it
        }
        // The provider has emptied its data; what it held before goes back, and its reload then changes nothing.
        foreach (var (key, value) in lastGood)
        {
            provider.Set(key, value);
        }
        _restoring[provider] = true;
        context.Ignore = true;
        var name = Name(provider);
        var reason = context.Exception.InnerException?.Message ?? context.Exception.Message;
        _invalid[name] = reason;
        _metrics.ConfigReloads.Add(1, new("source", "file"), new("result", "rejected"));
        Log.SettingsFileInvalid(_logger, name, reason);
    }

    private static string Name(FileConfigurationProvider provider) =>
        provider.Source.FileProvider?.GetFileInfo(provider.Source.Path ?? string.Empty).PhysicalPath ?? provider.Source.Path ?? "?";

    /// <summary>Every value the provider holds, by full key.</summary>
    private static KeyValuePair<string, string?>[] Snapshot(ConfigurationProvider provider)
    {
        var values = new List<KeyValuePair<string, string?>>();
        void Walk(string? parent)
        {
            foreach (var child in provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                var key = parent is null ? child : ConfigurationPath.Combine(parent, child);
                if (provider.TryGet(key, out var value))
                {
                    values.Add(new(key, value));
                }
                Walk(key);
            }
        }
        Walk(null);
        return [.. values];
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
