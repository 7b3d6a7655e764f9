using CacheProxy.Health;
using CacheProxy;
using CacheProxy.Management;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's management plane.</summary>
public static class CacheProxyManagementBuilderExtensions
{
    /// <summary>
    /// Adds the management plane that <c>MapCacheProxyManagement</c> maps: health (<c>/health</c>, <c>/health/live</c>,
    /// <c>/health/ready</c>, with the configuration, upstream and maintenance checks), <c>POST /purge</c>,
    /// <c>/maintenance</c> and <c>GET /inspect</c>; the API-key authentication scheme
    /// (<see cref="CacheProxyManagementDefaults.AuthenticationScheme"/>), whose challenge and forbid answer refused
    /// management calls as problem+json; and the authorization policy of every management endpoint
    /// (<see cref="CacheProxyManagementDefaults.Policy"/>: the management port, an allowed network, an API key). It adds
    /// to the app's authentication and authorization and replaces none of its handlers.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddManagement(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ManagementMarker)))
        {
            return builder;
        }
        services.AddSingleton<ManagementMarker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CacheProxy.Configuration.CacheProxyOptions>, ManagementPortFromKestrel>());
        services.TryAddSingleton<ManagementRateLimiter>();
        services.TryAddSingleton<ManagementRefusals>();
        services.TryAddSingleton<RecentPurges>();
        services.TryAddSingleton<KeyLimits>();
        services.TryAddSingleton<PurgeEndpoint>();
        services.TryAddSingleton<ForwardingEndpoint>();
        services.TryAddSingleton<MaintenanceEndpoint>();
        services.TryAddSingleton<InspectEndpoint>();
        services.AddHealthChecks()
            .AddCheck<ConfigurationHealthCheck>("configuration", tags: [HealthTags.Ready])
            .AddCheck<UpstreamHealthCheck>("upstream", tags: [HealthTags.Ready])
            .AddCheck<MaintenanceHealthCheck>("maintenance", tags: [HealthTags.Ready]);
        services.AddOpenApi(ManagementOpenApi.DocumentName, ManagementOpenApi.Configure);
        services.AddSingleton<ManagementAccessHandler>();
        services.AddSingleton<IAuthorizationHandler>(sp => sp.GetRequiredService<ManagementAccessHandler>());
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(CacheProxyManagementDefaults.AuthenticationScheme, null);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AuthenticationOptions>, KeepTheAppsDefaultScheme>());
        services.AddAuthorization(o => o.AddPolicy(CacheProxyManagementDefaults.Policy, policy => policy
            .AddAuthenticationSchemes(CacheProxyManagementDefaults.AuthenticationScheme)
            .AddRequirements(ManagementAccessRequirement.Instance)));
        return builder;
    }
}
