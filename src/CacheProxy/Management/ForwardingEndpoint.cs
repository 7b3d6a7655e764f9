using CacheProxy.Cdn;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>One delivery as the management API shows it.</summary>
internal sealed record DeliveryView(string Provider, string State, int Attempts, DateTimeOffset? Updated, DateTimeOffset? NextAttempt, string? Detail)
{
    public static DeliveryView Of(CdnDeliveryStatus d) =>
        new(d.Provider, d.State.ToString().ToLowerInvariant(), d.Attempts, d.Updated, d.NextAttempt, d.Detail);
}

/// <summary>One forwarding as the management API shows it: the purge's selectors by count (the list can be long), its deliveries.</summary>
internal sealed record ForwardingView(string Id, IReadOnlyList<DeliveryView> Providers)
{
    public DateTimeOffset? Created { get; init; }

    public int? Urls { get; init; }

    public int? Tags { get; init; }

    public int? Prefixes { get; init; }

    public bool? Soft { get; init; }

    public static ForwardingView Of(CdnForwarding f) => new(f.Purge.Id, [.. f.Deliveries.Select(DeliveryView.Of)])
    {
        Created = f.Purge.Created,
        Urls = f.Purge.Urls.Count,
        Tags = f.Purge.Tags.Count,
        Prefixes = f.Purge.Prefixes.Count,
        Soft = f.Purge.Soft,
    };
}

/// <summary>
/// <c>GET /purge/forwarding</c>: the CDNs purges go to, the forwardings waiting (newest first) and the dead letters;
/// <c>GET /purge/forwarding/{id}</c>: one forwarding (404 when the outbox no longer remembers it). Never a credential.
/// </summary>
/// <summary>A CDN purges are forwarded to.</summary>
internal sealed record CdnProviderView(string Name, string Type);

/// <summary>What <c>GET /purge/forwarding</c> answers: at most 100 of each list, and whether there are more.</summary>
internal sealed record ForwardingList(IReadOnlyList<CdnProviderView> Providers, string Outbox, IReadOnlyList<ForwardingView> Pending, bool PendingMore,
    IReadOnlyList<ForwardingView> Failed, bool FailedMore);

internal sealed class ForwardingEndpoint(CdnForwarder cdn)
{
    /// <summary>How many waiting forwardings and dead letters are listed at most.</summary>
    public const int Listed = 100;

    /// <summary>Maps <c>GET /purge/forwarding</c> and <c>GET /purge/forwarding/{id}</c>, described for the OpenAPI document.</summary>
    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder management)
    {
        management.MapGet("/purge/forwarding", CacheProxy.Management.ManagementOpenApi.Handler(context => ListAsync(context)))
            .WithName("ListForwardings").WithTags("purge")
            .WithSummary("The CDNs purges are forwarded to, and the forwardings waiting or failed (docs/cdn.md)")
            .Produces<ForwardingList>(StatusCodes.Status200OK);
        management.MapGet("/purge/forwarding/{id}", (HttpContext context, string id) => GetAsync(context, id))
            .WithName("GetForwarding").WithTags("purge")
            .WithSummary("One purge's forwarding to each CDN, by the id POST /purge answered")
            .Produces<ForwardingView>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    public async Task ListAsync(HttpContext context)
    {
        var pending = await cdn.Outbox.ListAsync(CdnDeliveryState.Pending, Listed + 1, context.RequestAborted);
        var failed = await cdn.Outbox.ListAsync(CdnDeliveryState.Failed, Listed + 1, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new ForwardingList(
            [.. cdn.Providers.Select(p => new CdnProviderView(p, cdn.TypeOf(p)))],
            cdn.OutboxKind,
            [.. pending.Take(Listed).Select(ForwardingView.Of)],
            pending.Count > Listed,
            [.. failed.Take(Listed).Select(ForwardingView.Of)],
            failed.Count > Listed), ManagementJson.Options, context.RequestAborted);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (await cdn.Outbox.GetAsync(id, context.RequestAborted) is not { } forwarding)
        {
            await Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such forwarding",
                detail: $"The outbox does not know forwarding '{id}': never queued, forgotten, or the outbox (Redis) cannot be reached now.").ExecuteAsync(context);
            return;
        }
        await context.Response.WriteAsJsonAsync(ForwardingView.Of(forwarding), ManagementJson.Options, context.RequestAborted);
    }
}
