using CacheProxy.Caching;
using CacheProxy.Cdn;
using CacheProxy.Storage;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Management;

/// <summary>
/// <c>POST /purge</c> on the management endpoint: <c>{"urls": [...], "tags": [...], "prefixes": [...], "soft": false}</c>,
/// several selectors at once. Answers <c>{"purged": N, "removedHere": M}</c> (N selectors, M memory-tier entries this
/// instance removed at once) when the purge holds here and every other instance will hear it; 503 when it holds
/// here but could not be handed on (retry it: purging twice changes nothing); 400 naming the field for a malformed
/// body, an unknown field or a selector past the bounds. URLs and prefixes are matched literally: no glob or
/// pattern character means anything. With CDNs configured (docs/cdn.md) the purge is then queued for them and the
/// answer carries <c>"forwarding": {"id", "providers": [{"provider", "state"}]}</c>; with <c>"wait": true</c> the
/// answer waits until they confirmed (at most <c>CacheProxy:Cdn:MaxWait</c>); 503 (<c>forwarding-not-queued</c>)
/// when it could not be queued.
/// </summary>
internal sealed class PurgeEndpoint(Invalidations invalidations, LastGoodOptions options, TimeProvider time, ErrorShaping errors,
    CacheProxyMetrics metrics, RecentPurges recent, KeyLimits limits, ILoggerFactory loggers, CdnForwarder cdn)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Purge);

    /// <summary>Maps <c>POST /purge</c> on the management group, described for the OpenAPI document.</summary>
    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder management) =>
        management.MapPost("/purge", CacheProxy.Management.ManagementOpenApi.Handler(context => HandleAsync(context)))
            .WithName("Purge").WithTags("purge")
            .WithSummary("Purge by URL, tag or prefix, hard or soft, on every instance (and the CDNs when forwarding is configured)")
            .Accepts<PurgeRequest>("application/json")
            .Produces<PurgeResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                ManagementOpenApi.Examples(operation, """{"tags": ["product:42"], "soft": true}""", "200", """{"purged": 1, "removedHere": 3, "shared": true}""");
                return Task.CompletedTask;
            });

    public async Task HandleAsync(HttpContext context)
    {
        var caller = context.User.Identity?.Name ?? "unknown";
        if (!await limits.TryPurgeAsync(context))
        {
            return;
        }
        var bounds = options.Current.Purge;
        // Room for every selector at its longest, each character escaped: past that, the body cannot be valid.
        var limit = Math.Min(64L << 20, ((long)bounds.MaxSelectors * ((bounds.MaxSelectorLength * 6) + 8)) + 1024);
        var (request, field, reason) = await ManagementJson.ReadAsync<PurgeRequest>(context, limit, "a purge request (urls, tags, prefixes, soft, wait)");
        if (request is null)
        {
            await RejectAsync(context, caller, field, reason);
            return;
        }
        if (Selectors(request, bounds, time.GetUtcNow(), out var messages) is { } invalid)
        {
            await RejectAsync(context, caller, invalid.Field, invalid.Reason);
            return;
        }
        var (removed, published) = await invalidations.ApplyAsync(messages);
        var (urls, tags, prefixes) = (request.Urls?.Length ?? 0, request.Tags?.Length ?? 0, request.Prefixes?.Length ?? 0);
        Count("url", urls);
        Count("tag", tags);
        Count("prefix", prefixes);
        Log.PurgeApplied(_logger, caller, urls, tags, prefixes, request.Soft, removed, published switch
        {
            true => "yes",
            false => "no",
            null => "none to tell (no invalidation bus: Redis is not configured)",
        });
        recent.Add(new PurgeRecord(time.GetUtcNow(), caller, urls, tags, prefixes, request.Soft, removed, published));
        if (published == false)
        {
            Log.PurgeNotPublished(_logger, caller);
            metrics.Purges.Add(1, new KeyValuePair<string, object?>("outcome", "not_published"));
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.PurgeNotPublished, ErrorCategory.Store, null),
                $"The purge holds on this instance ({removed} entries removed here), but the invalidation bus did not take it.");
            return;
        }
        metrics.Purges.Add(1, new KeyValuePair<string, object?>("outcome", "applied"));
        var queued = await cdn.QueueAsync(Given(request.Urls), Given(request.Tags), Given(request.Prefixes), request.Soft);
        if (queued.Refused is { } refused)
        {
            Log.CdnForwardingNotQueued(_logger, caller, refused);
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.ForwardingNotQueued, ErrorCategory.Store, null),
                $"The purge holds on the gateway ({removed} entries removed here), but its forwarding to the CDNs could not be queued: {refused}.");
            return;
        }
        ForwardingView? forwarding = null;
        if (queued.Purge is { } purge)
        {
            var waited = request.Wait ? await cdn.WaitAsync(purge.Id, options.Current.Cdn.MaxWait, context.RequestAborted) : null;
            forwarding = waited is not null ? ForwardingView.Of(waited)
                : new ForwardingView(purge.Id, [.. queued.Providers.Select(p => new DeliveryView(p, "pending", 0, null, null, null))]);
        }
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new PurgeResponse(messages.Count, removed, published is not null, forwarding), ManagementJson.Options,
            context.RequestAborted);
    }

    private static string[] Given(string?[]? values) => values is null ? [] : [.. values.OfType<string>()];

    private void Count(string kind, int selectors)
    {
        if (selectors > 0)
        {
            metrics.PurgedSelectors.Add(selectors, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>The invalidations the request names; null when valid, else the first field that is not.</summary>
    private static (string Field, string Reason)? Selectors(PurgeRequest request, PurgeOptions bounds, DateTimeOffset now, out List<InvalidationMessage> messages)
    {
        messages = [];
        var total = (request.Urls?.Length ?? 0) + (request.Tags?.Length ?? 0) + (request.Prefixes?.Length ?? 0);
        if (total == 0)
        {
            return ("urls", "name at least one URL, tag or prefix");
        }
        if (total > bounds.MaxSelectors)
        {
            return ("urls", $"{total} selectors; at most {bounds.MaxSelectors} (CacheProxy:Purge:MaxSelectors)");
        }
        foreach (var (field, values, scope) in new[] { ("urls", request.Urls, InvalidationScope.Key), ("tags", request.Tags, InvalidationScope.Tag),
            ("prefixes", request.Prefixes, InvalidationScope.Prefix) })
        {
            for (var i = 0; i < (values?.Length ?? 0); i++)
            {
                var value = values![i];
                var name = $"{field}[{i}]";
                if (string.IsNullOrEmpty(value))
                {
                    return (name, "empty");
                }
                if (value.Length > bounds.MaxSelectorLength)
                {
                    return (name, $"{value.Length} characters; at most {bounds.MaxSelectorLength} (CacheProxy:Purge:MaxSelectorLength)");
                }
                var selector = scope switch
                {
                    InvalidationScope.Key => Http.HttpUrl.TryParse(value, out var url)
                        ? CacheKey.ForUrl(url) : null,
                    InvalidationScope.Prefix => CacheKey.PrefixForUrl(value),
                    _ => CacheKey.HasControl(value) ? null : value,
                };
                if (selector is null)
                {
                    return (name, scope == InvalidationScope.Tag ? "a tag holds no control characters" : "an absolute http or https URL without control characters");
                }
                messages.Add(new InvalidationMessage(scope, selector, request.Soft, now));
            }
        }
        return null;
    }

    private async Task RejectAsync(HttpContext context, string caller, string field, string reason)
    {
        Log.PurgeRejected(_logger, caller, field, reason);
        metrics.Purges.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
        await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.InvalidPurge, ErrorCategory.Client, null), $"{field}: {reason}",
            new Dictionary<string, object?> { ["field"] = field });
    }

    /// <summary>What to purge: at least one URL, tag or prefix.</summary>
    internal sealed class PurgeRequest
    {
        public string?[]? Urls { get; init; }

        public string?[]? Tags { get; init; }

        public string?[]? Prefixes { get; init; }

        public bool Soft { get; init; }

        public bool Wait { get; init; }
    }

    /// <param name="Purged">How many selectors the purge named.</param>
    /// <param name="RemovedHere">Memory-tier entries this instance removed at once.</param>
    /// <param name="Shared">Whether other instances were told (an invalidation bus took it); false when there is none to tell.</param>
    /// <param name="Forwarding">Its forwarding to the CDNs; absent when none is configured.</param>
    internal sealed record PurgeResponse(int Purged, int RemovedHere, bool Shared,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] ForwardingView? Forwarding);
}
