using System.Collections.Frozen;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Transforms;

namespace CacheProxy.Caching;

/// <summary>
/// The request fields origins act on but the key ignores (<see cref="CacheProxyOptions.UnkeyedRequestHeaders"/>):
/// their names by action for the current options, each route's action, and the removal of those only ever removed,
/// on a request's way upstream. <see cref="RequestScreening"/> applies the keyed and bypassed ones.
/// </summary>
internal sealed class UnkeyedFields(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);
    private Names? _names;

    /// <summary>
    /// Removes from a request on its way upstream (YARP's request transform, <see cref="CacheTransformProvider"/>) the
    /// fields spelled with an underscore, unless <see cref="CacheProxyOptions.DropUnderscoreHeaders"/> is off (nginx's
    /// <c>underscores_in_headers off</c>: CGI and PHP read <c>X_Forwarded_Host</c> as <c>X-Forwarded-Host</c>), and the
    /// listed fields that no route keys on or bypasses for, when the request's route removes them: only a forwarded
    /// request carries fields to an origin, so only it pays for looking.
    /// </summary>
    public void RemoveOnForward(RequestTransformContext transform, string routeId)
    {
        var current = options.Current;
        var names = NamesFor(current);
        if (!current.DropUnderscoreHeaders && names.RemovedOnly.Count == 0)
        {
            return;
        }
        // One pass over the request's fields (a handful), not one lookup per listed name (13 by default): most
        // requests carry none of them, and Kestrel looks a field it does not know up by a linear search.
        List<(string Field, string MetricName)>? found = null;
        current.Routes.TryGetValue(routeId, out var route);
        foreach (var field in transform.HttpContext.Request.Headers)
        {
            var name = field.Key;
            if (current.DropUnderscoreHeaders && name.Contains('_'))
            {
                (found ??= []).Add((name, UnderscoreMetricName)); // the names are the client's: unbounded as metric values
            }
            else if (names.RemovedOnly.TryGetValue(name, out var listed)
                && ActionFor(listed, route, current) == UnkeyedHeaderAction.Remove)
            {
                (found ??= []).Add((listed, listed));
            }
        }
        foreach (var (field, metricName) in found ?? [])
        {
            Remove(transform, field, metricName, routeId);
        }
    }

    /// <summary>The metric's name for fields removed for their underscores.</summary>
    private const string UnderscoreMetricName = "(underscore)";

    private void Remove(RequestTransformContext transform, string field, string metricName, string routeId)
    {
        RequestTransform.RemoveHeader(transform, field);
        metrics.UnkeyedHeader(metricName, UnkeyedHeaderAction.Remove);
        Log.UnkeyedHeader(_logger, field, UnkeyedHeaderAction.Remove, routeId);
    }

    /// <summary>What <paramref name="route"/> does with the listed field <paramref name="listed"/>: its own action, else the global one.</summary>
    public static UnkeyedHeaderAction ActionFor(string listed, RouteCacheOptions? route, CacheProxyOptions current) =>
        route is not null && route.UnkeyedRequestHeaders.TryGetValue(listed, out var routeAction) ? routeAction
        : current.UnkeyedRequestHeaders.TryGetValue(listed, out var globalAction) ? globalAction
        : UnkeyedHeaderAction.Forward;

    /// <summary>The listed names of <paramref name="current"/>, computed once per options instance.</summary>
    public Names NamesFor(CacheProxyOptions current)
    {
        var names = Volatile.Read(ref _names);
        if (names is null || !ReferenceEquals(names.Options, current))
        {
            var every = current.UnkeyedRequestHeaders.Concat(current.Routes.Values.SelectMany(r => r.UnkeyedRequestHeaders)).ToList();
            string[] Distinct(Func<UnkeyedHeaderAction, bool> action) =>
                [.. every.Where(h => action(h.Value)).Select(h => h.Key).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];
            var all = Distinct(a => a != UnkeyedHeaderAction.Forward);
            var keyedOrBypassed = Distinct(a => a is UnkeyedHeaderAction.Key or UnkeyedHeaderAction.Bypass);
            names = new Names(current, keyedOrBypassed, all.Except(keyedOrBypassed, StringComparer.OrdinalIgnoreCase).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
                all.ToDictionary(n => n, n => n, StringComparer.OrdinalIgnoreCase));
            Volatile.Write(ref _names, names);
        }
        return names;
    }

    /// <summary>
    /// The listed field names of one options instance (replaced as a whole on reload): those some route keys on or
    /// bypasses for, the others (removed, where a route does not forward them), and all of them by the spelling CGI
    /// gives them (a field's name with underscores read as hyphens).
    /// </summary>
    internal sealed record Names(CacheProxyOptions Options, string[] KeyedOrBypassed, FrozenSet<string> RemovedOnly,
        Dictionary<string, string> ByCgiSpelling);
}
