using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Configuration;

/// <summary>
/// Counts and logs YARP's own configuration loads (routes and clusters). YARP validates each one and keeps the last
/// good configuration when one fails; this makes that visible beside CacheProxy's own reloads
/// (<c>cacheproxy.config.reloads</c> with <c>source=proxy</c>).
/// </summary>
internal sealed class ProxyConfigReloads(CacheProxyMetrics metrics, ILoggerFactory loggers) : IConfigChangeListener
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Configuration);

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception) => Rejected(exception);

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception) => Rejected(exception);

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        metrics.ConfigReloads.Add(1, new("source", "proxy"), new("result", "applied"));
        Log.ProxyConfigurationApplied(_logger, proxyConfigs.Sum(c => c.Routes.Count), proxyConfigs.Sum(c => c.Clusters.Count));
    }

    private void Rejected(Exception exception)
    {
        metrics.ConfigReloads.Add(1, new("source", "proxy"), new("result", "rejected"));
        Log.ProxyConfigurationRejected(_logger, exception);
    }
}
