using CacheProxy.Caching;
using CacheProxy;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Health;
using CacheProxy.Hosting;
using CacheProxy.Invalidation;
using CacheProxy.Management;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using CacheProxy.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy.</summary>
public static class CacheProxyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the RFC 9111 cache with its memory tier, configured from <paramref name="configuration"/>. Operational
    /// features are added on the builder it returns: <c>AddManagement</c>, <c>AddDashboard</c>, <c>AddWarming</c>,
    /// <c>AddGracefulDrain</c>, <c>AddUpstreamClient</c> (and <c>AddRedis</c>, <c>AddPrometheus</c> from their packages).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The <c>CacheProxy</c> section; a reload takes effect when it passes validation.</param>
    /// <returns>A builder for optional features.</returns>
    public static ICacheProxyBuilder AddCacheProxy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CacheProxyOptions>().BindCacheProxySection(configuration);
        return new CacheProxyBuilder(services.AddCacheProxy().Services, configuration);
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
        services.TryAddSingleton<LastGoodOptions>();
        services.TryAddSingleton<SettingsFiles>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Configuration.IConfigChangeListener, ProxyConfigReloads>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddProblemDetails();
        services.TryAddSingleton<RequestMetricDimensions>();
        services.TryAddSingleton<CacheProxyMetrics>();
        services.TryAddSingleton(sp => new CacheStoreTelemetry(sp.GetRequiredService<CacheProxyMetrics>()));

        // Storage: memory alone, or memory in front of a shared tier when a package (CacheProxy.Redis) registered one.
        services.TryAddSingleton<MemoryCacheStore>();
        services.TryAddSingleton<ICacheStore>(sp => sp.GetService<ISharedCacheStore>() is { } shared
            ? new TieredCacheStore(sp.GetRequiredService<MemoryCacheStore>(), shared, sp.GetService<IInvalidationBus>())
            : sp.GetRequiredService<MemoryCacheStore>());

        // Invalidation: purges, surrogate keys (docs/purge.md); maintenance mode (the engine honours it).
        services.TryAddSingleton<InvalidationLedger>();
        services.TryAddSingleton<Invalidations>();
        services.AddHostedService(sp => sp.GetRequiredService<Invalidations>());
        services.TryAddSingleton<ResponseTags>();

        // Purges forwarded to the CDNs in front (docs/cdn.md): an outbox (CacheProxy.Redis replaces the memory one).
        services.AddHttpClient(CacheProxy.Cdn.CdnHttp.ClientName);
        services.TryAddSingleton<CacheProxy.Cdn.ICdnPurgeOutbox, CacheProxy.Cdn.MemoryCdnPurgeOutbox>();
        services.TryAddSingleton<CacheProxy.Cdn.CdnPurgers>();
        services.TryAddSingleton<CacheProxy.Cdn.DownstreamFields>();
        services.TryAddSingleton<CacheProxy.Cdn.CdnForwarder>();
        services.AddHostedService(sp => sp.GetRequiredService<CacheProxy.Cdn.CdnForwarder>());
        services.TryAddSingleton<IMaintenanceSwitchStore, LocalMaintenanceSwitchStore>();
        services.TryAddSingleton<Maintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<Maintenance>());

        // The engine and its phases (docs/architecture.md).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICachePolicy, RouteOptionsPolicy>());
        services.TryAddSingleton<CachePolicies>();
        services.TryAddSingleton<CacheContextPool>();
        services.TryAddSingleton<CacheKey>();
        services.TryAddSingleton<StoreFailures>();
        services.TryAddSingleton<CacheLookup>();
        services.TryAddSingleton<VariantFrequencies>();
        services.TryAddSingleton<CacheWriter>();
        services.TryAddSingleton<SendTail>();
        services.TryAddSingleton<StoredResponseWriter>();
        services.TryAddSingleton<StoredResponses>();
        services.TryAddSingleton<Revalidation>();
        services.TryAddSingleton<CaptureBudget>();
        services.TryAddSingleton<Compressor>();
        services.TryAddSingleton<DeferredCompression>();
        services.TryAddSingleton<NotStoredRecord>();
        services.TryAddSingleton<HitForPass>();
        services.TryAddSingleton<ReuseLookup>();
        services.TryAddSingleton<CacheReads>();
        services.TryAddSingleton<FetchDecider>();
        services.TryAddSingleton<CacheProxy.GraphQL.GraphQLRequests>();
        services.TryAddSingleton<RouteKeying>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHeldResponses, CacheProxy.GraphQL.GraphQLStorage>());
        services.TryAddSingleton<CacheProxy.GraphQL.GraphQLMutations>();
        services.TryAddSingleton<ResponseStorer>();
        services.TryAddSingleton<RangeCompletion>();
        services.TryAddSingleton<UpstreamFetch>();
        services.TryAddSingleton<FetchCollapser>();
        services.TryAddSingleton<BackgroundWork>();
        services.AddHostedService(sp => sp.GetRequiredService<BackgroundWork>());
        services.TryAddSingleton<BackgroundRefresh>();
        services.TryAddSingleton<ProxyPipeline>();
        services.TryAddSingleton<RefreshAhead>();
        services.TryAddSingleton<PassThrough>();
        services.TryAddSingleton<MaintenanceServing>();
        services.TryAddSingleton<EarlyHits>();
        services.TryAddSingleton<FreshHits>();
        services.TryAddSingleton<UnkeyedFields>();
        services.TryAddSingleton<RequestScreening>();
        services.TryAddSingleton<CacheEngine>();

        // Edge Side Includes (docs/esi.md): off until configured; fragments go through the whole pipeline, captured first.
        services.TryAddSingleton<CacheProxy.Esi.EsiPipeline>();
        services.TryAddSingleton<CacheProxy.Esi.EsiFragments>();
        services.TryAddSingleton<CacheProxy.Esi.EsiAssembler>();

        // The pipeline: the middleware UseCacheProxy adds, and the one a startup filter puts before routing.
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, CacheProxy.Esi.EsiStartupFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, BeforeRoutingStartupFilter>());
        services.TryAddSingleton<CorrelationIds>();
        services.TryAddSingleton<ErrorShaping>();
        services.TryAddSingleton<ManagementPortGate>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, CacheTransformProvider>());
        services.TryAddSingleton<CacheProxyMarker>();
        services.AddHostedService<ConnectionRejections>();
        return new CacheProxyBuilder(services);
    }
}
