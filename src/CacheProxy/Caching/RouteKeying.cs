using CacheProxy.Configuration;
using CacheProxy.Experiments;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// What a route keys on beyond the URL, from the request (docs/experiments.md): the values of the cookies in
/// <c>Key:Cookies</c> (only those go upstream with <c>Key:ForwardOnlyKeyedCookies</c>), and the buckets of its
/// experiments (<see cref="ExperimentAssignments"/>, with <c>AddExperiments()</c>). A fresh hit looks its key up
/// from the URL alone, so a request such a route keys differently takes the full path (<see cref="NeedsFullPath"/>).
/// </summary>
internal sealed class RouteKeying(LastGoodOptions options, IEnumerable<IRequestVariants> variants, ExperimentAssignments? experiments = null)
{
    private readonly IRequestVariants[] _variants = [.. variants];
    private Table? _table;

    /// <summary>Whether the request must take the full path: its route assigns experiments or has variants, or keys on cookies and it carries some.</summary>
    public bool NeedsFullPath(CacheContext context)
    {
        var routes = For(options.Current).Routes;
        return routes is not null && routes.TryGetValue(context.RouteId, out var keys)
            && (keys.Always || (keys.Cookies && context.HttpContext.Request.Headers.ContainsKey(HeaderNames.Cookie)));
    }

    /// <summary>
    /// <see cref="Apply"/>, then the features keyed on more than the URL (<see cref="IRequestVariants"/>, image
    /// variants); true when one answered the request itself.
    /// </summary>
    public ValueTask<bool> ApplyAsync(CacheContext context)
    {
        Apply(context);
        return For(options.Current).Routes is { } routes && routes.TryGetValue(context.RouteId, out var keys) && keys.Variants is { } variants
            ? variants.ScreenAsync(context)
            : new(false);
    }

    /// <summary>Adds the route's cookie values and buckets to the key of <paramref name="context"/>'s request, and trims what goes upstream.</summary>
    private void Apply(CacheContext context)
    {
        var current = options.Current;
        if (For(current).Routes is null || !current.Routes.TryGetValue(context.RouteId, out var route))
        {
            return;
        }
        if (route.Experiments.Count > 0)
        {
            experiments?.Apply(context);
        }
        var keyed = route.Key.Cookies;
        if (keyed.Count == 0)
        {
            return;
        }
        var headers = context.HttpContext.Request.Headers;
        var cookie = headers.Cookie;
        foreach (var name in keyed)
        {
            if (CookieHeader.Value(cookie, name) is { } value)
            {
                (context.KeyedHeaders ??= []).Add(new("cookie:" + name, value));
            }
        }
        if (route.Key.ForwardOnlyKeyedCookies)
        {
            CookieHeader.Keep(headers, keyed.Contains);
            context.CookiesKeyed = true; // what is left of Cookie is in the key: no longer a credential (docs/security.md)
        }
    }

    private Table For(CacheProxyOptions current)
    {
        var table = Volatile.Read(ref _table);
        if (table is not null && ReferenceEquals(table.Options, current))
        {
            return table;
        }
        var routes = current.Routes
            .Select(r => (r.Key, Cookies: r.Value.Key.Cookies.Count > 0, Experiments: r.Value.Experiments.Count > 0 && experiments is not null,
                Variants: _variants.FirstOrDefault(v => v.Applies(current, r.Key))))
            .Where(r => r.Cookies || r.Experiments || r.Variants is not null)
            .ToDictionary(r => r.Key, r => new RouteKeys(r.Cookies, r.Experiments || r.Variants is not null, r.Variants), StringComparer.OrdinalIgnoreCase);
        table = new Table(current, routes.Count == 0 ? null : routes);
        Volatile.Write(ref _table, table);
        return table;
    }

    private sealed record Table(CacheProxyOptions Options, Dictionary<string, RouteKeys>? Routes);

    /// <summary>What a route keys on beyond the URL: cookies; always something (experiments, variants); the variants' feature.</summary>
    private sealed record RouteKeys(bool Cookies, bool Always, IRequestVariants? Variants);

    /// <summary>Whether a cookie's name looks like a session's: a route keyed on it is per user (event 1307).</summary>
    public static bool LooksLikeSession(string name)
    {
        var lower = name.ToLowerInvariant();
        return lower.Contains("sess", StringComparison.Ordinal) || lower.Contains("sid", StringComparison.Ordinal)
            || lower.Contains("auth", StringComparison.Ordinal) || lower.Contains("token", StringComparison.Ordinal)
            || lower.Contains("jwt", StringComparison.Ordinal) || lower.StartsWith(".aspnetcore.", StringComparison.Ordinal)
            || lower.Contains("login", StringComparison.Ordinal) || lower.Contains("user", StringComparison.Ordinal);
    }
}
