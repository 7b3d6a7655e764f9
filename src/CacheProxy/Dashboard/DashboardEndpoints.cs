using CacheProxy.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Dashboard;

/// <summary><c>GET /stats</c> and the <c>/dashboard</c> page, its assets and its event stream, on the management plane.</summary>
internal sealed class DashboardEndpoints : IManagementEndpointProvider
{
    public void MapEndpoints(IEndpointRouteBuilder management)
    {
        var dashboard = management.ServiceProvider.GetRequiredService<DashboardEndpoint>(); // statistics begin here
        management.MapGet("/stats", dashboard.GetStatsAsync);
        management.MapGet("/dashboard", dashboard.PageAsync);
        management.MapGet("/dashboard/dashboard.js", dashboard.ScriptAsync);
        management.MapGet("/dashboard/dashboard.css", dashboard.StyleAsync);
        management.MapGet("/dashboard/events", dashboard.EventsAsync);
    }
}
