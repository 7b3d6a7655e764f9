using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;

namespace CacheProxy.Warming;

/// <summary>
/// <c>/warm</c> on the management endpoint (an API key, like purge): <c>POST</c> a JSON list
/// <c>{"urls": ["https://www.example.com/", ...]}</c> or a sitemap (<c>application/xml</c>, its <c>&lt;loc&gt;</c>
/// elements) to start warming (202 with the status; 409 while a job runs; 400 naming what is wrong); <c>GET</c> for
/// the status (<c>state</c>: idle, running, completed, cancelled; counts; <c>secondsLeft</c>); <c>DELETE</c> to cancel.
/// </summary>
internal sealed class WarmEndpoint(CacheWarmer warmer, LastGoodOptions options, ErrorShaping errors)
{
    private const long MaxBody = 64L << 20;

    /// <summary>Maps <c>GET</c>, <c>POST</c> and <c>DELETE /warm</c>, described for the OpenAPI document.</summary>
    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder management)
    {
        management.MapGet("/warm", CacheProxy.Management.ManagementOpenApi.Handler(context => GetAsync(context)))
            .WithName("GetWarming").WithTags("warming")
            .WithSummary("Where the warming job stands")
            .Produces<WarmStatus>(StatusCodes.Status200OK);
        management.MapPost("/warm", CacheProxy.Management.ManagementOpenApi.Handler(context => PostAsync(context)))
            .WithName("StartWarming").WithTags("warming")
            .WithSummary("Starts warming the URLs given (JSON) or a sitemap's (XML)")
            .Accepts<WarmRequest>("application/json", "application/xml", "text/xml")
            .Produces<WarmStatus>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                ManagementOpenApi.Examples(operation, """{"urls": ["https://www.example.com/", "https://www.example.com/products"]}""", "202",
                    """{"state": "running", "count": 2, "done": 0, "stored": 0, "cached": 0, "notStored": 0, "failed": 0, "startedAt": "2026-12-08T10:00:00+00:00", "finishedAt": null, "secondsLeft": null, "error": null}""");
                return Task.CompletedTask;
            });
        management.MapDelete("/warm", CacheProxy.Management.ManagementOpenApi.Handler(context => DeleteAsync(context)))
            .WithName("CancelWarming").WithTags("warming")
            .WithSummary("Cancels the running warming job")
            .Produces<WarmStatus>(StatusCodes.Status200OK);
    }

    public Task GetAsync(HttpContext context) => WriteStatusAsync(context, StatusCodes.Status200OK);

    public Task DeleteAsync(HttpContext context)
    {
        warmer.Cancel();
        return WriteStatusAsync(context, StatusCodes.Status200OK);
    }

    public async Task PostAsync(HttpContext context)
    {
        var max = options.Current.Warm.MaxUrls;
        var (urls, field, reason) = IsXml(context.Request.ContentType) ? await ReadSitemapAsync(context, max) : await ReadJsonAsync(context, max);
        if (urls is null)
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null), $"{field}: {reason}",
                new Dictionary<string, object?> { ["field"] = field });
            return;
        }
        if (warmer.TryStart(urls, context.User.Identity?.Name ?? "unknown") is { } refused)
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.Conflict, ErrorCategory.Client, null), refused);
            return;
        }
        await WriteStatusAsync(context, StatusCodes.Status202Accepted);
    }

    private static bool IsXml(string? contentType) => contentType is not null
        && (contentType.StartsWith("application/xml", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("text/xml", StringComparison.OrdinalIgnoreCase));

    private static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadJsonAsync(HttpContext context, int max)
    {
        var (request, field, reason) = await ManagementJson.ReadAsync<WarmRequest>(context, MaxBody, "a warming request (urls)");
        if (request is null)
        {
            return (null, field, reason);
        }
        return WarmInput.Check(request.Urls ?? [], max);
    }

    private static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadSitemapAsync(HttpContext context, int max) =>
        context.Request.ContentLength > MaxBody ? (null, "body", $"larger than {MaxBody} bytes") : await WarmInput.ReadSitemapAsync(context.Request.Body, max);

    private Task WriteStatusAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(warmer.Status, ManagementJson.Options, context.RequestAborted);
    }

    internal sealed class WarmRequest
    {
        public string?[]? Urls { get; init; }
    }
}
