using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Diagnostics;

/// <summary>
/// The registered <see cref="IRequestMetricDimension"/>s: a request's metric key is its route id, followed by each
/// dimension's value when there are any (<see cref="Separator"/> between), bounded to
/// <see cref="CacheProxyOptions.MetricDimensionValueLimit"/> values per dimension.
/// </summary>
internal sealed partial class RequestMetricDimensions
{
    public const char Separator = '\x1F';
    private const int MaxValueLength = 64;

    private readonly IRequestMetricDimension[] _dimensions;
    private readonly ConcurrentDictionary<string, byte>[] _seen;
    private readonly int[] _capped;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private LastGoodOptions? _options;

    // The options come from the provider when first needed: LastGoodOptions needs CacheProxyMetrics, which needs this.
    public RequestMetricDimensions(IEnumerable<IRequestMetricDimension> dimensions, IServiceProvider services, ILoggerFactory loggers)
    {
        _dimensions = [.. dimensions];
        foreach (var dimension in _dimensions)
        {
            if (!ValidName().IsMatch(dimension.Name) || dimension.Name is "route" or "cache_status")
            {
                throw new InvalidOperationException($"IRequestMetricDimension name '{dimension.Name}' ({dimension.GetType().Name}) must be lower-case letters, digits and underscores, and not route or cache_status.");
            }
        }
        if (_dimensions.Select(d => d.Name).Distinct(StringComparer.Ordinal).Count() != _dimensions.Length)
        {
            throw new InvalidOperationException("Two IRequestMetricDimension registrations have the same name.");
        }
        _seen = [.. _dimensions.Select(_ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))];
        _capped = new int[_dimensions.Length];
        _services = services;
        _logger = loggers.CreateLogger(LogCategories.Internal);
    }

    public IReadOnlyList<string> Names => [.. _dimensions.Select(d => d.Name)];

    /// <summary>The request's metric key: the route id alone without dimensions (no allocation), else route and values.</summary>
    public string KeyFor(HttpContext context, string routeId)
    {
        if (_dimensions.Length == 0)
        {
            return routeId;
        }
        var parts = new string[_dimensions.Length + 1];
        parts[0] = routeId;
        for (var i = 0; i < _dimensions.Length; i++)
        {
            parts[i + 1] = Bounded(i, Value(_dimensions[i], context));
        }
        return string.Join(Separator, parts);
    }

    private static string Value(IRequestMetricDimension dimension, HttpContext context)
    {
        string? value;
        try
        {
            value = dimension.GetValue(context);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return "error"; // a dimension never fails the request
        }
        if (string.IsNullOrEmpty(value))
        {
            return "none";
        }
        if (value.Length > MaxValueLength || value.AsSpan().ContainsAnyInRange('\0', '\x1F'))
        {
            return "invalid";
        }
        return value;
    }

    private string Bounded(int dimension, string value)
    {
        var seen = _seen[dimension];
        if (seen.ContainsKey(value))
        {
            return value;
        }
        _options ??= _services.GetRequiredService<LastGoodOptions>();
        var limit = _options.Current.MetricDimensionValueLimit;
        if (seen.Count < limit)
        {
            seen.TryAdd(value, 0);
            return value;
        }
        if (Interlocked.Exchange(ref _capped[dimension], 1) == 0)
        {
            Log.MetricDimensionCapped(_logger, _dimensions[dimension].Name, limit);
        }
        return "other";
    }

    /// <summary>Splits a metric key into its route id and the dimensions' tags.</summary>
    public KeyValuePair<string, object?>[] Tags(string key, string statusName, string status)
    {
        var parts = key.Split(Separator);
        var tags = new KeyValuePair<string, object?>[parts.Length + 1];
        tags[0] = new("route", parts[0]);
        tags[1] = new(statusName, status);
        for (var i = 1; i < parts.Length && i <= _dimensions.Length; i++)
        {
            tags[i + 1] = new(_dimensions[i - 1].Name, parts[i]);
        }
        return tags;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex ValidName();
}
