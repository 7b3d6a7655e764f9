using CacheProxy.Caching;
using CacheProxy.Health;
using CacheProxy;
using CacheProxy.Hosting;
using CacheProxy.Management;
using CacheProxy.Warming;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's cache warming.</summary>
public static class CacheProxyWarmingBuilderExtensions
{
    /// <summary>
    /// Adds cache warming: <c>GET</c>, <c>POST</c> and <c>DELETE /warm</c> (mapped by <c>MapCacheProxyManagement</c>),
    /// the warm at startup that <c>CacheProxy:Warm</c> configures, and the <c>warming</c> readiness check that holds
    /// readiness until it is done. Adds <see cref="CacheProxyManagementBuilderExtensions.AddManagement"/>.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddWarming(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddManagement();
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(StartupWarming)))
        {
            return builder;
        }
        services.AddSingleton<StartupWarming>();
        services.AddHostedService(sp => sp.GetRequiredService<StartupWarming>());
        services.TryAddSingleton<CacheWarmer>();
        services.AddSingleton<LinkWarming>();
        services.AddHostedService(sp => sp.GetRequiredService<LinkWarming>());
        services.TryAddSingleton<ILinkWarmer>(sp => sp.GetRequiredService<LinkWarming>());
        services.TryAddSingleton<WarmEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IManagementEndpointProvider, WarmEndpoints>());
        services.AddHealthChecks().AddCheck<WarmingHealthCheck>("warming", tags: [HealthTags.Ready]);
        return builder;
    }
}
