using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;

namespace CacheProxy.Management;

/// <summary>
/// <c>GET /maintenance</c> and <c>POST /maintenance</c> on the management endpoint:
/// <c>{"enabled": true, "retryAfter": 120, "allow": ["10.0.0.0/8"]}</c> (seconds; networks that pass through). Both
/// answer the state in effect: <c>{"enabled", "source", "retryAfter", "allow"}</c>. A POST answers once the switch holds
/// here and is kept for every instance; 503 when it holds here but could not be kept (retry it); 400 naming the field
/// for a malformed body. Configuration can turn maintenance on besides; a POST cannot turn that off.
/// </summary>
internal sealed class MaintenanceEndpoint(Maintenance maintenance, LastGoodOptions options, ErrorShaping errors)
{
    private const int MaxNetworks = 100;

    /// <summary>Maps <c>GET</c> and <c>POST /maintenance</c>, described for the OpenAPI document.</summary>
    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder management)
    {
        management.MapGet("/maintenance", CacheProxy.Management.ManagementOpenApi.Handler(context => GetAsync(context)))
            .WithName("GetMaintenance").WithTags("maintenance")
            .WithSummary("Whether maintenance mode is on, and where that comes from (configuration or the switch)")
            .Produces<MaintenanceResponse>(StatusCodes.Status200OK);
        management.MapPost("/maintenance", CacheProxy.Management.ManagementOpenApi.Handler(context => PostAsync(context)))
            .WithName("SetMaintenance").WithTags("maintenance")
            .WithSummary("Turns maintenance mode on or off on every instance")
            .Accepts<MaintenanceRequest>("application/json")
            .Produces<MaintenanceResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                ManagementOpenApi.Examples(operation, """{"enabled": true, "retryAfter": 300, "allow": ["10.0.0.0/8"]}""", "200",
                    """{"enabled": true, "source": "switch", "retryAfter": 300, "allow": ["10.0.0.0/8"]}""");
                return Task.CompletedTask;
            });
    }

    public Task GetAsync(HttpContext context) => WriteStateAsync(context);

    public async Task PostAsync(HttpContext context)
    {
        var caller = context.User.Identity?.Name ?? "unknown";
        var (request, field, reason) = await ManagementJson.ReadAsync<MaintenanceRequest>(context, 64 * 1024, "a maintenance request (enabled, retryAfter, allow)");
        if (request is not null && Check(request) is { } invalid)
        {
            (request, field, reason) = (null, invalid.Field, invalid.Reason);
        }
        if (request is null)
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null), $"{field}: {reason}",
                new Dictionary<string, object?> { ["field"] = field });
            return;
        }
        var retryAfter = request.RetryAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : options.Current.Maintenance.RetryAfter;
        if (!await maintenance.SetAsync(request.Enabled!.Value, retryAfter, [.. (request.Allow ?? []).OfType<string>()], caller))
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.MaintenanceNotShared, ErrorCategory.Store, null),
                "The maintenance switch holds on this instance, but the shared store did not take it.");
            return;
        }
        await WriteStateAsync(context);
    }

    private static (string Field, string Reason)? Check(MaintenanceRequest request)
    {
        if (request.Enabled is null)
        {
            return ("enabled", "required: true or false");
        }
        if (request.RetryAfter is < 1 or > 86_400)
        {
            return ("retryAfter", "seconds, from 1 to 86400");
        }
        var allow = request.Allow ?? [];
        if (allow.Length > MaxNetworks)
        {
            return ("allow", $"at most {MaxNetworks} networks");
        }
        for (var i = 0; i < allow.Length; i++)
        {
            if (allow[i] is not { } network || !System.Net.IPNetwork.TryParse(network, out _))
            {
                return ($"allow[{i}]", "a network in CIDR notation such as 10.0.0.0/8");
            }
        }
        return null;
    }

    private Task WriteStateAsync(HttpContext context)
    {
        var state = maintenance.Current;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(
            new MaintenanceResponse(state.Enabled, state.Source, (int)state.RetryAfter.TotalSeconds, state.AllowedNetworks),
            ManagementJson.Options, context.RequestAborted);
    }

    internal sealed class MaintenanceRequest
    {
        public bool? Enabled { get; init; }

        public int? RetryAfter { get; init; }

        public string?[]? Allow { get; init; }
    }

    internal sealed record MaintenanceResponse(bool Enabled, string Source, int RetryAfter, IReadOnlyList<string> Allow);
}
