using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// A feature whose requests are keyed on more than the URL, read from the request on the full path
/// (<see cref="RouteKeying"/>): image variants (CacheProxy.Images). Internal: for this repository's packages.
/// </summary>
internal interface IRequestVariants
{
    /// <summary>Whether the route's requests are keyed by it, so they take the full path (<see cref="RouteKeying.NeedsFullPath"/>).</summary>
    bool Applies(CacheProxyOptions current, string routeId);

    /// <summary>Adds its key values, changes what goes upstream; true when it answered the request itself (a refusal).</summary>
    ValueTask<bool> ScreenAsync(CacheContext context);
}

/// <summary>
/// A feature that reads (or replaces) an upstream response's body before it is stored: the response is held whole
/// (<see cref="FetchDecision.Inspect"/>), then <see cref="ApplyAsync"/> runs and RFC 9111's rules decide as for any
/// response. GraphQL (<see cref="GraphQL.GraphQLStorage"/>), image variants (CacheProxy.Images).
/// </summary>
internal interface IHeldResponses
{
    /// <summary>Whether the upstream response now starting is one to hold for this feature.</summary>
    bool Holds(CacheContext context, HttpResponse response, CacheProxyOptions current);

    /// <summary>
    /// Once the body is in (<see cref="BodyCopy.Kept"/>, or none when it outgrew the limit): applied to the context
    /// (freshness, tags), to the response's fields, and to the body (<see cref="BodyCopy.ReplaceWith"/>). The reason
    /// it is not stored, or null.
    /// </summary>
    ValueTask<string?> ApplyAsync(CacheContext context, CaptureBodyFeature capture, DateTimeOffset responseTime, CacheProxyOptions current);

    /// <summary>
    /// The held response was stored as <paramref name="entry"/> under the request's key (a client's fetch or a
    /// background refresh), with <paramref name="varyNames"/> its Vary rule; called while the request is live.
    /// </summary>
    void Stored(CacheContext context, CacheEntry entry, IReadOnlyList<string>? varyNames);
}

/// <summary>Registered by <c>AddImages()</c> (CacheProxy.Images): what configuration validation asks to know the feature is there.</summary>
internal sealed class ImagesAdded;
