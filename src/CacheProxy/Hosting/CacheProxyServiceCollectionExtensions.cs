using CacheProxy.Caching;
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
    /// <summary>Adds the RFC 9111 cache with its memory tier, configured from <paramref name="configuration"/>.</summary>
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
        LogStartupValidation(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheProxyOptions>, CacheProxyOptionsValidator>());
        services.TryAddSingleton<LastGoodOptions>();
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

        // Invalidation: purges, surrogate keys, the management endpoint (docs/purge.md).
        services.TryAddSingleton<InvalidationLedger>();
        services.TryAddSingleton<Invalidations>();
        services.AddHostedService(sp => sp.GetRequiredService<Invalidations>());
        services.TryAddSingleton<ResponseTags>();
        AddManagementPlane(services);

        // The engine and its phases (docs/architecture.md).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICachePolicy, RouteOptionsPolicy>());
        services.TryAddSingleton<CachePolicies>();
        services.TryAddSingleton<CacheContextPool>();
        services.TryAddSingleton<CacheKey>();
        services.TryAddSingleton<StoreFailures>();
        services.TryAddSingleton<CacheLookup>();
        services.TryAddSingleton<CacheWriter>();
        services.TryAddSingleton<StoredResponseWriter>();
        services.TryAddSingleton<StoredResponses>();
        services.TryAddSingleton<Revalidation>();
        services.TryAddSingleton<CaptureBudget>();
        services.TryAddSingleton<Compressor>();
        services.TryAddSingleton<NotStoredRecord>();
        services.TryAddSingleton<ReuseLookup>();
        services.TryAddSingleton<CacheReads>();
        services.TryAddSingleton<FetchDecider>();
        services.TryAddSingleton<ResponseStorer>();
        services.TryAddSingleton<RangeCompletion>();
        services.TryAddSingleton<UpstreamFetch>();
        services.TryAddSingleton<FetchCollapser>();
        services.TryAddSingleton<BackgroundWork>();
        services.AddHostedService(sp => sp.GetRequiredService<BackgroundWork>());
        services.TryAddSingleton<BackgroundRefresh>();
        services.TryAddSingleton<PassThrough>();
        services.TryAddSingleton<MaintenanceServing>();
        services.TryAddSingleton<EarlyHits>();
        services.TryAddSingleton<FreshHits>();
        services.TryAddSingleton<RequestScreening>();
        services.TryAddSingleton<CacheEngine>();

        // The pipeline.
        services.TryAddEnumerable(ServiceDescriptor.Transient<Microsoft.AspNetCore.Hosting.IStartupFilter, BeforeRoutingStartupFilter>());
        services.TryAddSingleton<CorrelationIds>();
        services.TryAddSingleton<ErrorShaping>();
        services.TryAddSingleton<ManagementPortGate>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Yarp.ReverseProxy.Transforms.Builder.ITransformProvider, CacheTransformProvider>());
        services.TryAddSingleton<CacheProxyMarker>();
        AddUpstreamClient(services);
        AddLifecycle(services);
        return new CacheProxyBuilder(services);
    }

    /// <summary>
    /// YARP's client factory with CacheProxy's upstream settings — unless the app registered a factory of its own, which
    /// is left alone (whether AddReverseProxy came first or not).
    /// </summary>
    private static void AddUpstreamClient(IServiceCollection services)
    {
        var existing = services.LastOrDefault(d => d.ServiceType == typeof(Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory));
        if (existing?.ImplementationType == typeof(Yarp.ReverseProxy.Forwarder.ForwarderHttpClientFactory))
        {
            services.Remove(existing);
        }
        services.TryAddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, UpstreamHttpClientFactory>();
        services.AddHostedService<ConnectionRejections>();
    }

    /// <summary>Wraps the host's startup validator (which ValidateOnStart registered) so that all its errors are logged as one event.</summary>
    private static void LogStartupValidation(IServiceCollection services)
    {
        var validator = services.LastOrDefault(d => d.ServiceType == typeof(IStartupValidator));
        if (validator?.ImplementationType is not { } type || type == typeof(StartupValidation))
        {
            return;
        }
        services.Remove(validator);
        services.AddTransient<IStartupValidator>(sp => new StartupValidation((IStartupValidator)ActivatorUtilities.CreateInstance(sp, type),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetServices<BoundSection>()));
    }

    /// <summary>Health (live, ready) and graceful drain (docs/operations/health.md, deploy.md).</summary>
    private static void AddLifecycle(IServiceCollection services)
    {
        services.TryAddSingleton<GracefulDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulDrain>());
        var checks = services.AddHealthChecks();
        if (services.Any(d => d.ServiceType == typeof(ReadinessMarker)))
        {
            return; // AddCacheProxy was called before
        }
        services.AddSingleton<ReadinessMarker>();
        checks.AddCheck<ConfigurationHealthCheck>("configuration", tags: [HealthTags.Ready])
            .AddCheck<UpstreamHealthCheck>("upstream", tags: [HealthTags.Ready])
            .AddCheck<DrainingHealthCheck>("draining", tags: [HealthTags.Ready])
            .AddCheck<MaintenanceHealthCheck>("maintenance", tags: [HealthTags.Ready])
            .AddCheck<CacheProxy.Management.WarmingHealthCheck>("warming", tags: [HealthTags.Ready]);
        services.AddHostedService(sp => sp.GetRequiredService<CacheProxy.Management.StartupWarming>());
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
    }

    private sealed class ReadinessMarker;

    /// <summary>API keys (an authentication scheme), the management policy, how refusals are answered, purge.</summary>
    private static void AddManagementPlane(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CacheProxyOptions>, ManagementPortFromKestrel>());
        services.TryAddSingleton<ManagementRateLimiter>();
        services.TryAddSingleton<PurgeEndpoint>();
        services.TryAddSingleton<IMaintenanceSwitchStore, LocalMaintenanceSwitchStore>();
        services.TryAddSingleton<Maintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<Maintenance>());
        services.TryAddSingleton<MaintenanceEndpoint>();
        services.TryAddSingleton<CacheWarmer>();
        services.TryAddSingleton<WarmEndpoint>();
        services.TryAddSingleton<StartupWarming>();
        services.TryAddSingleton<InspectEndpoint>();
        services.TryAddSingleton<RecentPurges>();
        services.TryAddSingleton<LiveStatistics>();
        services.TryAddSingleton<DashboardEndpoint>();
        if (services.Any(d => d.ServiceType == typeof(ManagementAccessHandler)))
        {
            return; // AddCacheProxy was called before
        }
        services.AddSingleton<ManagementAccessHandler>();
        services.AddSingleton<IAuthorizationHandler>(sp => sp.GetRequiredService<ManagementAccessHandler>());
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(CacheProxyManagementDefaults.AuthenticationScheme, null);
        services.AddAuthorization(o => o.AddPolicy(CacheProxyManagementDefaults.Policy, policy => policy
            .AddAuthenticationSchemes(CacheProxyManagementDefaults.AuthenticationScheme)
            .AddRequirements(ManagementAccessRequirement.Instance)));
        // Management refusals are answered here; everything else by the handler the app had, or the framework's.
        var previous = services.LastOrDefault(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler));
        services.RemoveAll<IAuthorizationMiddlewareResultHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler>(sp => ActivatorUtilities.CreateInstance<ManagementRefusals>(sp,
            previous is null || previous.ImplementationType == typeof(AuthorizationMiddlewareResultHandler)
                ? new AuthorizationMiddlewareResultHandler()
                : previous.ImplementationInstance as IAuthorizationMiddlewareResultHandler
                    ?? previous.ImplementationFactory?.Invoke(sp) as IAuthorizationMiddlewareResultHandler
                    ?? (IAuthorizationMiddlewareResultHandler)ActivatorUtilities.CreateInstance(sp, previous.ImplementationType!)));
    }
}
