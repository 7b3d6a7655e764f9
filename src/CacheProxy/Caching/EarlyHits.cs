using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Caching;

/// <summary>
/// What lets a fresh hit be answered before routing (<see cref="CacheProxyOptions.ServeHitsBeforeRouting"/>). A GET
/// that routing sent to a proxied route and that was answered from the memory tier stamps the stored entry with
/// that endpoint and the current generation of the app's endpoints. A later GET for the same entry may then skip
/// routing — which would choose the same endpoint, since the entry's key holds the scheme, host, path and query and
/// no route matches on anything else — as long as: the endpoints have not changed since (any change, such as a
/// YARP configuration reload, starts a new generation); no route matches on headers or query parameters; the
/// endpoint carries no authorization or CORS metadata; and no fallback authorization policy is set, so that the
/// authorization middleware would have let the request through unchanged.
/// </summary>
internal sealed class EarlyHits
{
    private readonly LastGoodOptions _options;
    private readonly IServiceProvider _services;
    private readonly Lock _lock = new();
    private EndpointDataSource? _endpoints;
    private Generation? _current;

    public EarlyHits(LastGoodOptions options, IServiceProvider services)
    {
        _options = options;
        _services = services;
    }

    /// <summary>Records that a routed GET for <paramref name="entry"/> went to <paramref name="endpoint"/>.</summary>
    public void Stamp(StoredEntry entry, Endpoint endpoint)
    {
        if (!_options.Current.ServeHitsBeforeRouting || Current() is not { SkippingRoutingIsSafe: true } generation
            || (entry.EarlyRoute is Stamped stamped && stamped.Endpoint == endpoint && stamped.Generation == generation))
        {
            return;
        }
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<IAuthorizeData>() is null && metadata.GetMetadata<ICorsMetadata>() is null)
        {
            entry.EarlyRoute = new Stamped(endpoint, generation);
        }
    }

    /// <summary>The endpoint to answer <paramref name="entry"/> through without routing, or null.</summary>
    public Endpoint? EndpointFor(StoredEntry entry) =>
        entry.EarlyRoute is Stamped stamped && ReferenceEquals(stamped.Generation, Volatile.Read(ref _current)) && stamped.Generation.SkippingRoutingIsSafe
            ? stamped.Endpoint
            : null;

    private Generation? Current()
    {
        if (Volatile.Read(ref _current) is { } current)
        {
            return current;
        }
        lock (_lock)
        {
            if (_current is null && _services.GetService<EndpointDataSource>() is { } endpoints)
            {
                _endpoints = endpoints;
                Renew();
                ChangeToken.OnChange(endpoints.GetChangeToken, Renew);
            }
            return _current;
        }
    }

    private void Renew()
    {
        var safe = _services.GetService<IOptions<AuthorizationOptions>>()?.Value.FallbackPolicy is null;
        foreach (var endpoint in _endpoints!.Endpoints)
        {
            if (endpoint.Metadata.GetMetadata<RouteModel>()?.Config.Match is { } match
                && (match.Headers is { Count: > 0 } || match.QueryParameters is { Count: > 0 }))
            {
                safe = false;
            }
        }
        Volatile.Write(ref _current, new Generation(safe));
    }

    /// <summary>One state of the app's endpoints; a new instance for every change.</summary>
    private sealed record Generation(bool SkippingRoutingIsSafe);

    private sealed record Stamped(Endpoint Endpoint, Generation Generation);
}
