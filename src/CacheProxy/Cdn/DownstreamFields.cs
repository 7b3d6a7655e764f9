using System.Net;
using CacheProxy.Configuration;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Cdn;

/// <summary>
/// What a response tells the CDN in front (docs/cdn.md): its tags in the field the CDN reads
/// (<see cref="CdnOptions.TagHeader"/>, per route <see cref="RouteCdnOptions.TagHeader"/>; only to
/// <see cref="CdnOptions.TagHeaderNetworks"/> when set), and a route's own <c>CDN-Cache-Control</c> and
/// <c>Surrogate-Control</c>. Applied to hits, misses and responses passed through alike. Costs one reference compare
/// when nothing of it is configured.
/// </summary>
internal sealed class DownstreamFields(LastGoodOptions options)
{
    private Settings? _settings;

    /// <summary>Whether a route writes downstream fields: every response of it goes through <see cref="Apply"/>.</summary>
    public bool Any(string routeId) => Find(routeId).Route is not null;

    /// <summary>Writes the route's downstream fields into <paramref name="headers"/>; <paramref name="tags"/> are the response's.</summary>
    public void Apply(HttpContext http, IHeaderDictionary headers, string routeId, IEnumerable<string> tags)
    {
        if (Find(routeId) is not (var settings, { } route))
        {
            return;
        }
        if (route.TagHeader is { } name && ToThisClient(settings.Networks, http.Connection.RemoteIpAddress))
        {
            var joined = string.Join(route.Separator, tags);
            if (joined.Length > 0)
            {
                headers[name] = joined;
            }
        }
        if (route.CdnCacheControl is { } cdn)
        {
            headers[CacheProxyHeaderNames.CdnCacheControl] = cdn;
        }
        if (route.SurrogateControl is { } surrogate)
        {
            headers[CacheProxyHeaderNames.SurrogateControl] = surrogate;
        }
    }

    /// <summary>The settings now, and the route's fields (null when it writes none).</summary>
    private (Settings Settings, RouteFields? Route) Find(string routeId)
    {
        var settings = For(options.Current);
        return (settings, !settings.Any ? null : settings.Routes.TryGetValue(routeId, out var route) ? route : settings.Default);
    }

    private static bool ToThisClient(IPNetwork[] networks, IPAddress? address) =>
        networks.Length == 0 || (address is not null && Management.Networks.Contains(networks, address));

    /// <summary>The settings of <paramref name="current"/>, worked out once per configuration (a reload makes a new one).</summary>
    private Settings For(CacheProxyOptions current)
    {
        var settings = _settings;
        if (settings is not null && ReferenceEquals(settings.Options, current))
        {
            return settings;
        }
        var global = Fields(current.Cdn.TagHeader, null, null);
        var routes = new Dictionary<string, RouteFields?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, route) in current.Routes)
        {
            routes[id] = Fields(route.Cdn.TagHeader ?? current.Cdn.TagHeader, route.Cdn.CdnCacheControl, route.Cdn.SurrogateControl);
        }
        settings = new Settings(current, global, routes, Management.Networks.Parse(current.Cdn.TagHeaderNetworks),
            global is not null || routes.Values.Any(r => r is not null));
        _settings = settings;
        return settings;
    }

    private static RouteFields? Fields(string? tagHeader, string? cdnCacheControl, string? surrogateControl)
    {
        var tag = string.IsNullOrEmpty(tagHeader) ? null : tagHeader;
        if (tag is null && string.IsNullOrEmpty(cdnCacheControl) && string.IsNullOrEmpty(surrogateControl))
        {
            return null;
        }
        // Fastly reads Surrogate-Key space-separated; Cloudflare's Cache-Tag and the others are comma-separated.
        var separator = tag is not null && tag.Equals("Surrogate-Key", StringComparison.OrdinalIgnoreCase) ? " " : ",";
        return new RouteFields(tag, separator, string.IsNullOrEmpty(cdnCacheControl) ? null : cdnCacheControl,
            string.IsNullOrEmpty(surrogateControl) ? null : surrogateControl);
    }

    private sealed record RouteFields(string? TagHeader, string Separator, string? CdnCacheControl, string? SurrogateControl);

    private sealed record Settings(CacheProxyOptions Options, RouteFields? Default, Dictionary<string, RouteFields?> Routes, IPNetwork[] Networks, bool Any);
}
