using CacheProxy.Caching;
using CacheProxy.Hosting;
using CacheProxy.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy.</summary>
public static class CacheProxyServiceCollectionExtensions
{
    /// <summary>Adds the RFC 9111 cache with its memory tier, configured from <paramref name="configuration"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The <c>CacheProxy</c> section.</param>
    /// <returns>A builder for optional features.</returns>
    public static ICacheProxyBuilder AddCacheProxy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CacheProxyOptions>().Bind(configuration);
        return services.AddCacheProxy();
    }

    /// <summary>Adds the RFC 9111 cache with its memory tier, configured in code.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Changes to the options, applied after any configuration binding.</param>
    /// <returns>A builder for optional features.</returns>
    public static ICacheProxyBuilder AddCacheProxy(this IServiceCollection services, Action<CacheProxyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<CacheProxyOptions>().Configure(configure);
        return services.AddCacheProxy();
    }

    /// <summary>Adds the RFC 9111 cache with its memory tier and default options.</summary>
    /// <param name="services">The services.</param>
    /// <returns>A builder for optional features.</returns>
    public static ICacheProxyBuilder AddCacheProxy(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<CacheProxyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheProxyOptions>, CacheProxyOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddProblemDetails();
        services.TryAddSingleton<CacheProxy.Diagnostics.CacheProxyMetrics>();
        services.TryAddSingleton(sp => new CacheProxy.Diagnostics.CacheStoreTelemetry(sp.GetRequiredService<CacheProxy.Diagnostics.CacheProxyMetrics>()));
        services.TryAddSingleton<MemoryCacheStore>();
        // Memory alone, or memory in front of a shared tier when a package (CacheProxy.Redis) registered one.
        services.TryAddSingleton<ICacheStore>(sp => sp.GetService<ISharedCacheStore>() is { } shared
            ? new TieredCacheStore(sp.GetRequiredService<MemoryCacheStore>(), shared, sp.GetService<IInvalidationBus>(),
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>())
            : sp.GetRequiredService<MemoryCacheStore>());
        services.TryAddSingleton<EarlyHits>();
        services.TryAddSingleton<CacheEngine>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, EarlyHitStartupFilter>());
        services.TryAddSingleton<CacheProxy.Diagnostics.CorrelationIds>();
        services.TryAddSingleton<CacheProxy.Diagnostics.ErrorShaping>();
        services.TryAddSingleton<ManagementPortGate>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, CacheTransformProvider>());
        services.TryAddSingleton<CacheProxyMarker>();
        services.AddHealthChecks();
        return new CacheProxyBuilder(services);
    }
}
