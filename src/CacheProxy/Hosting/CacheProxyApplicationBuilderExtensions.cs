using CacheProxy.Health;
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
        app.ApplicationServices.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        return app.UseMiddleware<CacheProxyMiddleware>();
    }

    /// <summary>
    /// Maps the management endpoints — <c>/health/live</c> (the process runs), <c>/health/ready</c> (the checks
    /// tagged <c>ready</c>: it can serve), <c>/health</c> (every check), <c>POST /purge</c>, <c>GET</c> and <c>POST /maintenance</c>, <c>GET</c>, <c>POST</c> and <c>DELETE /warm</c>, <c>GET /inspect</c>, <c>GET /stats</c>, the live <c>/dashboard</c>, and those of every registered
    /// <see cref="IManagementEndpointProvider"/>, e.g. <c>/metrics</c> — on the management port
    /// (<see cref="CacheProxy.Configuration.ManagementOptions.Port"/>), behind the management authorization policy
    /// (<see cref="CacheProxy.Management.CacheProxyManagementDefaults.Policy"/>: port, allowed networks, API key).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder to add conventions to every management endpoint.</returns>
    public static IEndpointConventionBuilder MapCacheProxyManagement(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<CacheProxyMarker>() is null)
        {
            throw new InvalidOperationException("CacheProxy services are missing: call services.AddCacheProxy(...) before MapCacheProxyManagement().");
        }
        var group = endpoints.MapGroup(string.Empty);
        group.WithMetadata(ManagementEndpointMetadata.Instance);
        group.RequireAuthorization(CacheProxy.Management.CacheProxyManagementDefaults.Policy);
        group.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        group.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = HealthReportWriter.WriteAsync });
        group.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(HealthTags.Ready),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        var purge = endpoints.ServiceProvider.GetRequiredService<CacheProxy.Management.PurgeEndpoint>();
        group.MapPost("/purge", purge.HandleAsync);
        var maintenance = endpoints.ServiceProvider.GetRequiredService<MaintenanceEndpoint>();
        group.MapGet("/maintenance", maintenance.GetAsync);
        group.MapPost("/maintenance", maintenance.PostAsync);
        var warm = endpoints.ServiceProvider.GetRequiredService<CacheProxy.Management.WarmEndpoint>();
        group.MapGet("/warm", warm.GetAsync);
        group.MapPost("/warm", warm.PostAsync);
        group.MapDelete("/warm", warm.DeleteAsync);
        group.MapGet("/inspect", endpoints.ServiceProvider.GetRequiredService<CacheProxy.Management.InspectEndpoint>().GetAsync);
        var dashboard = endpoints.ServiceProvider.GetRequiredService<CacheProxy.Management.DashboardEndpoint>(); // statistics begin here
        group.MapGet("/stats", dashboard.GetStatsAsync);
        group.MapGet("/dashboard", dashboard.PageAsync);
        group.MapGet("/dashboard/dashboard.js", dashboard.ScriptAsync);
        group.MapGet("/dashboard/dashboard.css", dashboard.StyleAsync);
        group.MapGet("/dashboard/events", dashboard.Events);
        foreach (var provider in endpoints.ServiceProvider.GetServices<IManagementEndpointProvider>())
        {
            provider.MapEndpoints(group);
        }
        return group;
    }
}
