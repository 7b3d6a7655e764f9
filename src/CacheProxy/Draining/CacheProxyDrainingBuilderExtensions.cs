using CacheProxy.Configuration;
using CacheProxy;
using CacheProxy.Draining;
using CacheProxy.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's graceful drain.</summary>
public static class CacheProxyDrainingBuilderExtensions
{
    /// <summary>
    /// Adds the graceful drain (docs/operations/deploy.md): when the host is asked to stop, readiness turns unhealthy
    /// at once (the <c>draining</c> check) and responses close their connections, while the instance keeps serving
    /// for <c>CacheProxy:Shutdown:DrainDelay</c>. This changes a setting of the host's: <see cref="HostOptions.ShutdownTimeout"/>
    /// is raised, when shorter, to cover the drain delay and <c>CacheProxy:Shutdown:Timeout</c> for the requests in flight.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddGracefulDrain(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(GracefulDrain)))
        {
            return builder;
        }
        services.AddSingleton<GracefulDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulDrain>());
        services.AddHealthChecks().AddCheck<DrainingHealthCheck>("draining", tags: [HealthTags.Ready]);
        // The host waits for the drain delay and then for requests in flight: its shutdown timeout must cover both.
        services.AddOptions<HostOptions>().PostConfigure<IOptions<CacheProxyOptions>>((host, cacheProxy) =>
        {
            try
            {
                var shutdown = cacheProxy.Value.Shutdown;
                host.ShutdownTimeout = TimeSpan.FromTicks(Math.Max(host.ShutdownTimeout.Ticks, (shutdown.DrainDelay + shutdown.Timeout).Ticks));
            }
            catch (OptionsValidationException)
            {
                // invalid options: startup validation reports them with every other error and stops the host
            }
        });
        return builder;
    }
}
