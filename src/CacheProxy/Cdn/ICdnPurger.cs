namespace CacheProxy.Cdn;

/// <summary>
/// Forwards purges to one CDN. The built-ins (Fastly, Cloudflare, a webhook) are made from
/// <c>CacheProxy:Cdn:Providers</c>; register more in DI as <c>ICdnPurger</c> singletons, each with its own
/// <see cref="Name"/>. A delivery may be attempted more than once (a retry, or an instance that died after
/// delivering and before recording it): purging twice must change nothing.
/// </summary>
public interface ICdnPurger
{
    /// <summary>Gets the provider's name: what deliveries, logs, metrics and <c>GET /purge/forwarding</c> show. Unique.</summary>
    string Name { get; }

    /// <summary>Purges what <paramref name="purge"/> names from the CDN.</summary>
    /// <param name="purge">The purge, as accepted by <c>POST /purge</c> (or made by an unsafe method).</param>
    /// <param name="cancellationToken">Cancelled when the attempt times out (<c>CacheProxy:Cdn:RequestTimeout</c>) or the gateway stops.</param>
    /// <returns>Delivered, retry later, or failed for good. An exception counts as retry later.</returns>
    ValueTask<CdnPurgeResult> PurgeAsync(CdnPurge purge, CancellationToken cancellationToken);
}

/// <summary>One purge, as it is forwarded to CDNs.</summary>
/// <param name="Id">Its forwarding id (what <c>POST /purge</c> answers and <c>GET /purge/forwarding/{id}</c> follows).</param>
/// <param name="Created">When the gateway accepted it.</param>
/// <param name="Urls">Absolute URLs, as the purge named them.</param>
/// <param name="Tags">Surrogate keys (tags).</param>
/// <param name="Prefixes">Absolute URL prefixes, as the purge named them.</param>
/// <param name="Soft">Mark stale rather than remove, where the CDN can.</param>
public sealed record CdnPurge(string Id, DateTimeOffset Created, IReadOnlyList<string> Urls, IReadOnlyList<string> Tags, IReadOnlyList<string> Prefixes,
    bool Soft)
{
    /// <summary>Gets how many URLs, tags and prefixes it names.</summary>
    public int Count => Urls.Count + Tags.Count + Prefixes.Count;
}

/// <summary>What a CDN made of one attempt.</summary>
public enum CdnPurgeOutcome
{
    /// <summary>The CDN confirmed the purge.</summary>
    Delivered,

    /// <summary>Not now (a 5xx, a timeout, a 429): try again later.</summary>
    Retry,

    /// <summary>Never (the CDN refused the request, or cannot purge what it names): to the dead letters.</summary>
    Failed,
}

/// <summary>The result of one attempt to forward a purge.</summary>
/// <param name="Outcome">Delivered, retry or failed.</param>
/// <param name="Detail">What happened, for operators (no credentials).</param>
/// <param name="RetryAfter">How long the CDN asked to wait (<c>Retry-After</c>), for <see cref="CdnPurgeOutcome.Retry"/>.</param>
/// <param name="Remaining">For a retry, what is left to purge when part of it was delivered; null: all of it.</param>
public readonly record struct CdnPurgeResult(CdnPurgeOutcome Outcome, string? Detail = null, TimeSpan? RetryAfter = null, CdnPurge? Remaining = null)
{
    /// <summary>The CDN confirmed it.</summary>
    /// <param name="detail">What happened.</param>
    /// <returns>The result.</returns>
    public static CdnPurgeResult Delivered(string? detail = null) => new(CdnPurgeOutcome.Delivered, detail);

    /// <summary>Try again later.</summary>
    /// <param name="detail">Why.</param>
    /// <param name="retryAfter">How long the CDN asked to wait, if it did.</param>
    /// <param name="remaining">What is left to purge, when part was delivered.</param>
    /// <returns>The result.</returns>
    public static CdnPurgeResult Retry(string detail, TimeSpan? retryAfter = null, CdnPurge? remaining = null) => new(CdnPurgeOutcome.Retry, detail, retryAfter, remaining);

    /// <summary>Give up: the purge goes to the dead letters.</summary>
    /// <param name="detail">Why.</param>
    /// <returns>The result.</returns>
    public static CdnPurgeResult Failed(string detail) => new(CdnPurgeOutcome.Failed, detail);
}
