using Microsoft.AspNetCore.Http;
using CacheProxy.Caching;

namespace CacheProxy;

/// <summary>
/// The parts of a cache key while <see cref="ICacheKeyCustomizer"/>s change them. The scheme and host are fixed;
/// the path, the query and added values are not. Valid only during the call: instances are reused.
/// </summary>
public sealed class CacheKeyContext
{
    private readonly List<KeyValuePair<string, string>> _values = [];

    internal CacheKeyContext()
    {
    }

    /// <summary>Gets the request being keyed (for an invalidated Location, the unsafe request that named it).</summary>
    public HttpContext HttpContext { get; private set; } = null!;

    /// <summary>Gets or sets the path (path base included) that goes into the key.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>Gets or sets the query that goes into the key: empty, or <c>?</c> followed by the query string.</summary>
    public string Query { get; set; } = string.Empty;

    internal IReadOnlyList<KeyValuePair<string, string>> Values => _values;

    /// <summary>Adds a named value to the key, for example a request header's: requests that differ in it get different entries.</summary>
    /// <param name="name">A name for the value, unique among the values added.</param>
    /// <param name="value">The value; null counts as absent.</param>
    public void Add(string name, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _values.Add(new(name, value ?? CacheKey.AbsentValue));
    }

    /// <summary>Removes the query parameters whose (still escaped) names match, keeping the others in their order.</summary>
    /// <param name="match">Whether a parameter name is to be removed.</param>
    public void RemoveQueryParameters(Func<string, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        Query = WithoutParameters(Query, match);
    }

    /// <summary>
    /// <paramref name="query"/> (empty, or <c>?</c> and the query string) without the parameters whose (still escaped)
    /// names match, the others kept in their order and spelling.
    /// </summary>
    internal static string WithoutParameters(string query, Func<string, bool> match)
    {
        if (query.Length <= 1)
        {
            return query;
        }
        var kept = new System.Text.StringBuilder(query.Length);
        foreach (var range in query.AsSpan(1).Split('&'))
        {
            var parameter = query.AsSpan(1)[range];
            var equals = parameter.IndexOf('=');
            var name = equals < 0 ? parameter : parameter[..equals];
            if (parameter.IsEmpty || match(name.ToString()))
            {
                continue;
            }
            kept.Append(kept.Length == 0 ? '?' : '&').Append(parameter);
        }
        return kept.ToString();
    }

    internal void Start(HttpContext context, string path, string query)
    {
        HttpContext = context;
        Path = path;
        Query = query;
        _values.Clear();
    }
}
