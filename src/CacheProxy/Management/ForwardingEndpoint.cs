using CacheProxy.Cdn;
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
internal sealed class ForwardingEndpoint(CdnForwarder cdn)
{
    /// <summary>How many waiting forwardings and dead letters are listed at most.</summary>
    public const int Listed = 100;

    public async Task ListAsync(HttpContext context)
    {
        var pending = await cdn.Outbox.ListAsync(CdnDeliveryState.Pending, Listed + 1, context.RequestAborted);
        var failed = await cdn.Outbox.ListAsync(CdnDeliveryState.Failed, Listed + 1, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new
        {
            providers = cdn.Providers.Select(p => new { name = p, type = cdn.TypeOf(p) }),
            outbox = cdn.OutboxKind,
            pending = pending.Take(Listed).Select(ForwardingView.Of),
            pendingMore = pending.Count > Listed,
            failed = failed.Take(Listed).Select(ForwardingView.Of),
            failedMore = failed.Count > Listed,
        }, ManagementJson.Options, context.RequestAborted);
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
