namespace CacheProxy.Cdn;

/// <summary>
/// Where forwardings wait until every CDN confirmed them. The built-in one is in memory (bounded, lost with the
/// process); CacheProxy.Redis registers one in Redis, so that any instance delivers what another accepted, once.
/// Every method answers for an unavailable backend without throwing (false, null or empty).
/// </summary>
public interface ICdnPurgeOutbox
{
    /// <summary>Adds a forwarding: one delivery of <paramref name="purge"/> to each of <paramref name="providers"/>, due now.</summary>
    /// <param name="purge">The purge.</param>
    /// <param name="providers">The providers' names.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when it could not be kept (the outbox is full or its backend down).</returns>
    ValueTask<bool> AddAsync(CdnPurge purge, IReadOnlyList<string> providers, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the next due delivery to <paramref name="provider"/> for <paramref name="lease"/>: no one else gets it
    /// until the lease ends. A delivery is due when its next attempt has come and (with several instances) every
    /// instance applied its purge.
    /// </summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="lease">How long the claim holds; past it, another claim may take the delivery again.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The delivery, or null when none is due.</returns>
    ValueTask<CdnDelivery?> ClaimAsync(string provider, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Records what became of a claimed delivery; ignored when the claim was lost (its lease ended and another took it).</summary>
    /// <param name="delivery">The claimed delivery.</param>
    /// <param name="update">Delivered, failed, or pending again until a time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it was recorded.</returns>
    ValueTask<bool> SettleAsync(CdnDelivery delivery, CdnDeliveryUpdate update, CancellationToken cancellationToken);

    /// <summary>Gets one forwarding and its deliveries, while the outbox remembers it.</summary>
    /// <param name="id">The forwarding id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The forwarding, or null.</returns>
    ValueTask<CdnForwarding?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Lists forwardings with a delivery in <paramref name="state"/>, newest first.</summary>
    /// <param name="state">Pending (waiting or being retried) or failed (the dead letters); delivered ones are listed too, as long as they are remembered.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The forwardings.</returns>
    ValueTask<IReadOnlyList<CdnForwarding>> ListAsync(CdnDeliveryState state, int max, CancellationToken cancellationToken);
}

/// <summary>Where one delivery (a purge to one provider) stands.</summary>
public enum CdnDeliveryState
{
    /// <summary>Waiting for its first attempt, or for a retry.</summary>
    Pending,

    /// <summary>The provider confirmed it.</summary>
    Delivered,

    /// <summary>Given up: a dead letter.</summary>
    Failed,
}

/// <summary>A delivery claimed from the outbox.</summary>
/// <param name="Purge">What to purge (what is left of it, after a partial delivery).</param>
/// <param name="Provider">The provider's name.</param>
/// <param name="Attempt">1 for the first attempt.</param>
/// <param name="Claim">The claim's token: settling with it proves the claim is still held.</param>
public sealed record CdnDelivery(CdnPurge Purge, string Provider, int Attempt, string Claim);

/// <summary>What became of a delivery.</summary>
/// <param name="State">Delivered, failed, or pending again.</param>
/// <param name="NextAttempt">When pending: when it is due again.</param>
/// <param name="Detail">What happened (no credentials).</param>
/// <param name="Remaining">When pending: what is left to purge, if part was delivered.</param>
public readonly record struct CdnDeliveryUpdate(CdnDeliveryState State, DateTimeOffset? NextAttempt = null, string? Detail = null, CdnPurge? Remaining = null);

/// <summary>Where a delivery stands.</summary>
/// <param name="Provider">The provider's name.</param>
/// <param name="State">Pending, delivered or failed.</param>
/// <param name="Attempts">Attempts made (claims taken).</param>
/// <param name="Updated">When it last changed, if it did.</param>
/// <param name="NextAttempt">When pending: when it is due.</param>
/// <param name="Detail">The last attempt's outcome, if any.</param>
public sealed record CdnDeliveryStatus(string Provider, CdnDeliveryState State, int Attempts, DateTimeOffset? Updated, DateTimeOffset? NextAttempt, string? Detail);

/// <summary>A forwarding: one purge and its delivery to each provider.</summary>
/// <param name="Purge">The purge as accepted.</param>
/// <param name="Deliveries">One per provider.</param>
public sealed record CdnForwarding(CdnPurge Purge, IReadOnlyList<CdnDeliveryStatus> Deliveries);
