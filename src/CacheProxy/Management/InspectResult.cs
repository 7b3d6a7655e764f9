using System.Text.Json.Serialization;

namespace CacheProxy.Management;

/// <summary>
/// What <c>GET /inspect</c> answers for a URL. <see cref="Stored"/> says which fields are set: a stored entry's
/// description, or (not stored) the last reason it was not, when one is known.
/// </summary>
/// <param name="Url">The URL looked up.</param>
/// <param name="Key">The hash of its cache key (as logs show it); null when the URL cannot be keyed.</param>
/// <param name="Stored">Whether an entry answers it now.</param>
internal sealed record InspectResult(string Url, string? Key, bool Stored)
{
    /// <summary>Why the URL can never be cached, when it cannot be keyed.</summary>
    public string? Reason { get; init; }

    /// <summary>Where the entry was found: <c>memory</c> or <c>shared</c> (Redis).</summary>
    public string? Tier { get; init; }

    /// <summary>The GraphQL operation the URL's query is, when it is one.</summary>
    [JsonPropertyName("graphql")]
    public InspectGraphQL? GraphQL { get; init; }

    /// <summary>The URL's Vary rule, when its responses vary.</summary>
    public InspectVary? Vary { get; init; }

    /// <summary>Why the URL was last not stored, when it is not and a reason is remembered.</summary>
    public InspectNotStored? LastNotStored { get; init; }

    public int? Status { get; init; }

    public long? Bytes { get; init; }

    public string? ContentType { get; init; }

    public string? ContentEncoding { get; init; }

    public string? ContentRange { get; init; }

    public DateTimeOffset? StoredAt { get; init; }

    public long? AgeSeconds { get; init; }

    public long? LifetimeSeconds { get; init; }

    /// <summary>Where the freshness lifetime came from (s-maxage, max-age, Expires, a heuristic, a route's Ttl).</summary>
    public string? LifetimeFrom { get; init; }

    public bool? Fresh { get; init; }

    public long? StaleWhileRevalidateSeconds { get; init; }

    public long? StaleIfErrorSeconds { get; init; }

    public bool? NoStaleServing { get; init; }

    public bool? NoCache { get; init; }

    [JsonPropertyName("etag")]
    public string? ETag { get; init; }

    public string? LastModified { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>A purge that reached the entry: hard (served as a miss) or soft (stale from then on).</summary>
    public string? Purged { get; init; }
}

/// <param name="Names">The field names of the Vary rule.</param>
/// <param name="Variants">How many variants are stored for the URL.</param>
/// <param name="Selected">The variant the request's fields select, as <c>name: value; …</c>.</param>
internal sealed record InspectVary(IReadOnlyList<string> Names, int Variants, string? Selected);

internal sealed record InspectGraphQL(string? Operation);

internal sealed record InspectNotStored(string Reason, DateTimeOffset At);
