using System.Text.Json;
using CacheProxy.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace CacheProxy.Management;

/// <summary>
/// The management API's OpenAPI 3.1 document (<c>GET /openapi/v1.json</c> on the management port), made by ASP.NET
/// Core's own OpenAPI support from the endpoints' metadata (docs/management-api.md): only management endpoints; the
/// API key as a Bearer security scheme every operation requires, with its 401, 403 and 429 problems; the health
/// endpoints and <c>/metrics</c>, which are not route handlers, described here when they are mapped.
/// </summary>
internal static class ManagementOpenApi
{
    public const string DocumentName = "v1";
    private const string Scheme = "ApiKey";
    private const string Problem = "application/problem+json";

    public static void Configure(OpenApiOptions options)
    {
        options.ShouldInclude = description => description.ActionDescriptor.EndpointMetadata.Contains(ManagementEndpointMetadata.Instance);
        // The management API reads and writes numbers strictly (ManagementJson), not as strings too, as the web defaults allow.
        options.AddSchemaTransformer((schema, _, _) =>
        {
            if (schema.Type is { } type && type.HasFlag(JsonSchemaType.String) && (type.HasFlag(JsonSchemaType.Integer) || type.HasFlag(JsonSchemaType.Number)))
            {
                schema.Type = type & ~JsonSchemaType.String;
                schema.Pattern = null;
            }
            return Task.CompletedTask;
        });
        options.AddDocumentTransformer(async (document, context, cancellationToken) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "CacheProxy management API",
                Version = "v1",
                Description = "Purge, maintenance, warming, inspection, statistics and health of a CacheProxy gateway, on its management port. "
                    + "Every call needs an API key from CacheProxy:Management:ApiKeys as a Bearer token, from an allowed network.",
            };
            document.Servers = [];
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A key of CacheProxy:Management:ApiKeys (Authorization: Bearer {key}).",
            };
            await DescribeUnhandledAsync(document, context, cancellationToken);
            document.Tags ??= new HashSet<OpenApiTag>();
            foreach (var tag in document.Paths.Values.SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                .SelectMany(o => o.Tags ?? Enumerable.Empty<OpenApiTagReference>()).Select(t => t.Name).Distinct().ToList())
            {
                if (tag is not null && !document.Tags.Any(t => t.Name == tag))
                {
                    document.Tags.Add(new OpenApiTag { Name = tag });
                }
            }
            foreach (var path in document.Paths.Values)
            {
                foreach (var operation in path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
                {
                    Secure(operation, document);
                }
            }
        });
    }

    /// <summary>
    /// A handler as a route handler: a lambda of <c>HttpContext</c> alone would bind as a <see cref="RequestDelegate"/>,
    /// which carries no metadata and which the document leaves out.
    /// </summary>
    public static Delegate Handler(Func<HttpContext, Task> handler) => handler;

    /// <summary>Adds a query parameter to an operation (the handlers read their query themselves).</summary>
    public static void Query(OpenApiOperation operation, string name, string description, bool required, bool repeated = false, JsonSchemaType type = JsonSchemaType.String)
    {
        operation.Parameters ??= [];
        var schema = new OpenApiSchema { Type = type };
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = name,
            In = ParameterLocation.Query,
            Required = required,
            Description = description,
            Schema = repeated ? new OpenApiSchema { Type = JsonSchemaType.Array, Items = schema } : schema,
            Explode = repeated,
        });
    }

    /// <summary>An example of the operation's JSON request body, and of its JSON answer with <paramref name="status"/>.</summary>
    public static void Examples(OpenApiOperation operation, string? request, string status, string response)
    {
        if (request is not null && operation.RequestBody?.Content is { } body && body.TryGetValue("application/json", out var json))
        {
            json.Example = System.Text.Json.Nodes.JsonNode.Parse(request);
        }
        if (operation.Responses?.TryGetValue(status, out var answer) == true && answer.Content?.TryGetValue("application/json", out var answerJson) == true)
        {
            answerJson.Example = System.Text.Json.Nodes.JsonNode.Parse(response);
        }
    }

    private static void Secure(OpenApiOperation operation, OpenApiDocument document)
    {
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] }];
        operation.Responses ??= [];
        operation.Responses.TryAdd("401", ProblemResponse("No API key, or one that is not configured."));
        operation.Responses.TryAdd("403", ProblemResponse("Not the management port, or a caller outside the allowed networks."));
        operation.Responses.TryAdd("429", ProblemResponse("The key's rate or stream limit was reached (Retry-After says when to retry)."));
    }

    private static OpenApiResponse ProblemResponse(string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { [Problem] = new() { Schema = new OpenApiSchemaReference("ProblemDetails") } },
    };

    /// <summary>The management endpoints that are not route handlers (health checks, the Prometheus scrape), when mapped.</summary>
    private static async Task DescribeUnhandledAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var mapped = context.ApplicationServices.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.Contains(ManagementEndpointMetadata.Instance)).Select(e => "/" + e.RoutePattern.RawText?.TrimStart('/'))
            .ToHashSet(StringComparer.Ordinal);
        var health = await context.GetOrCreateSchemaAsync(typeof(HealthReportView), cancellationToken: cancellationToken);
        document.AddComponent("HealthReport", health);
        foreach (var (path, id, summary) in new[]
        {
            ("/health", "GetHealth", "Every health check's status"),
            ("/health/live", "GetLiveness", "Whether the process runs (no checks): for a liveness probe"),
            ("/health/ready", "GetReadiness", "Whether it can serve (the checks tagged ready): for a readiness probe"),
        })
        {
            if (!mapped.Contains(path))
            {
                continue;
            }
            var operation = Operation(id, summary, "health");
            var report = new OpenApiSchemaReference("HealthReport", document);
            operation.Responses!["200"] = Json("Healthy or Degraded.", report);
            operation.Responses["503"] = Json("Unhealthy.", report);
            document.Paths[path] = new OpenApiPathItem { Operations = new() { [HttpMethod.Get] = operation } };
        }
        if (mapped.Contains("/metrics"))
        {
            var operation = Operation("GetMetrics", "The gateway's metrics in Prometheus' text format (AddPrometheus)", "metrics");
            operation.Responses!["200"] = new OpenApiResponse
            {
                Description = "The scrape.",
                Content = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } } },
            };
            document.Paths["/metrics"] = new OpenApiPathItem { Operations = new() { [HttpMethod.Get] = operation } };
        }
    }

    private static OpenApiOperation Operation(string id, string summary, string tag) => new()
    {
        OperationId = id,
        Summary = summary,
        Tags = new HashSet<OpenApiTagReference> { new(tag) },
        Responses = [],
    };

    private static OpenApiResponse Json(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };

    /// <summary>What the health endpoints write (<see cref="Health.HealthReportWriter"/>), for the document's schema only.</summary>
    internal sealed record HealthReportView(string Status, double DurationMs, IReadOnlyDictionary<string, HealthCheckView> Checks);

    /// <summary>One check in <see cref="HealthReportView"/>: <c>error</c> names an exception's type only.</summary>
    internal sealed record HealthCheckView(string Status, double DurationMs)
    {
        /// <summary>What the check said, when it said something.</summary>
        public string? Description { get; init; }

        /// <summary>The type of the exception the check failed with, when it failed with one.</summary>
        public string? Error { get; init; }

        /// <summary>The check's figures, when it has some.</summary>
        public IReadOnlyDictionary<string, JsonElement>? Data { get; init; }
    }
}
