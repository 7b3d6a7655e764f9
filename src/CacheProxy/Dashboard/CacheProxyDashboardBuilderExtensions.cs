using CacheProxy.Dashboard;
using CacheProxy;
using CacheProxy.Hosting;
using CacheProxy.Management;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's live statistics and dashboard.</summary>
public static class CacheProxyDashboardBuilderExtensions
{
    /// <summary>
    /// Adds <c>GET /stats</c> (figures over a recent window) and the live <c>/dashboard</c> page with its event stream,
    /// mapped by <c>MapCacheProxyManagement</c> behind the management policy; adds <see cref="CacheProxyManagementBuilderExtensions.AddManagement"/>.
    /// The statistics listen to the instance's own meter from the moment the endpoints are mapped.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddDashboard(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddManagement();
        var services = builder.Services;
        services.TryAddSingleton<RecentPurges>();
        services.TryAddSingleton<LiveStatistics>();
        services.TryAddSingleton<DashboardEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IManagementEndpointProvider, DashboardEndpoints>());
        return builder;
    }
}
