using CacheProxy.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Dashboard;

/// <summary><c>GET /stats</c> and the <c>/dashboard</c> page, its assets and its event stream, on the management plane.</summary>
internal sealed class DashboardEndpoints : IManagementEndpointProvider
{
    public void MapEndpoints(IEndpointRouteBuilder management)
    {
        var dashboard = management.ServiceProvider.GetRequiredService<DashboardEndpoint>(); // statistics begin here
        management.MapGet("/stats", CacheProxy.Management.ManagementOpenApi.Handler(context => dashboard.GetStatsAsync(context)))
            .WithName("GetStats").WithTags("statistics")
            .WithSummary("Requests, hit ratio, bytes, latency and store figures over a window, in all and by route")
            .Produces<StatsSnapshot>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                Management.ManagementOpenApi.Query(operation, "window", $"The window in whole seconds, 1 to {LiveStatistics.HistorySeconds}; default 10.",
                    required: false, type: Microsoft.OpenApi.JsonSchemaType.Integer);
                return Task.CompletedTask;
            });
        management.MapGet("/dashboard", dashboard.PageAsync);
        management.MapGet("/dashboard/dashboard.js", dashboard.ScriptAsync);
        management.MapGet("/dashboard/dashboard.css", dashboard.StyleAsync);
        management.MapGet("/dashboard/events", CacheProxy.Management.ManagementOpenApi.Handler(context => dashboard.EventsAsync(context)))
            .WithName("StreamStats").WithTags("statistics")
            .WithSummary("The /stats snapshot every second as server-sent events (what the dashboard shows)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
    }
}
