using CacheProxy.Health;
using CacheProxy;
using CacheProxy.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using CacheProxy.Management;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds CacheProxy to the request pipeline.</summary>
public static class CacheProxyApplicationBuilderExtensions
{
    /// <summary>
    /// Adds CacheProxy's middleware: correlation ids, the management-port gate, error shaping (problem+json) and the
    /// cache. Place it after routing has chosen the endpoint
    /// (WebApplication does that first by default) and before <c>MapReverseProxy</c>; only requests routed to
    /// YARP are cached. It first runs the host's startup validation (every options class registered with
    /// <c>ValidateOnStart</c>: CacheProxy's, Redis's, the app's own), so that an invalid configuration stops the app
    /// with all its errors together (event 1300) before the rest of the pipeline — YARP's routes included — is built.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The application.</returns>
    public static IApplicationBuilder UseCacheProxy(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<CacheProxyMarker>() is null)
        {
            throw new InvalidOperationException("CacheProxy services are missing: call services.AddCacheProxy(...) before app.UseCacheProxy().");
        }
        CacheProxy.Configuration.StartupValidation.Run(app.ApplicationServices);
        return app.UseMiddleware<CacheProxyMiddleware>();
    }

    /// <summary>
    /// Maps the management endpoints <c>AddManagement</c> registered — <c>/health/live</c> (the process runs),
    /// <c>/health/ready</c> (the checks tagged <c>ready</c>: it can serve), <c>/health</c> (every check),
    /// <c>POST /purge</c>, <c>GET /purge/forwarding</c> (docs/cdn.md), <c>GET</c> and <c>POST /maintenance</c>, <c>GET /inspect</c> — and those of every registered
    /// <see cref="IManagementEndpointProvider"/>: <c>/warm</c> (<c>AddWarming</c>), <c>/stats</c> and <c>/dashboard</c>
    /// (<c>AddDashboard</c>), <c>/metrics</c> (<c>AddPrometheus</c>) — on the management port
    /// (<see cref="CacheProxy.Configuration.ManagementOptions.Port"/>), behind the management authorization policy
    /// (<see cref="CacheProxy.CacheProxyManagementDefaults.Policy"/>: port, allowed networks, API key).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder to add conventions to every management endpoint.</returns>
    public static IEndpointConventionBuilder MapCacheProxyManagement(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<ManagementMarker>() is null)
        {
            throw new InvalidOperationException("CacheProxy's management plane is missing: call services.AddCacheProxy(...).AddManagement() before MapCacheProxyManagement().");
        }
        var group = endpoints.MapGroup(string.Empty);
        group.WithMetadata(ManagementEndpointMetadata.Instance);
        group.RequireAuthorization(CacheProxy.CacheProxyManagementDefaults.Policy);
        group.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        group.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = HealthReportWriter.WriteAsync });
        group.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(HealthTags.Ready),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        var services = endpoints.ServiceProvider;
        services.GetRequiredService<CacheProxy.Management.PurgeEndpoint>().Map(group);
        services.GetRequiredService<ForwardingEndpoint>().Map(group);
        services.GetRequiredService<MaintenanceEndpoint>().Map(group);
        services.GetRequiredService<InspectEndpoint>().Map(group);
        group.MapOpenApi(); // /openapi/v1.json: the management API described (docs/management-api.md)
        foreach (var provider in endpoints.ServiceProvider.GetServices<IManagementEndpointProvider>())
        {
            provider.MapEndpoints(group);
        }
        return group;
    }
}
