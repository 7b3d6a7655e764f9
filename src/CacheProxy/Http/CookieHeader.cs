using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Http;

/// <summary>The <c>Cookie</c> request field (RFC 6265 §5.4): <c>name=value</c> pairs separated by <c>;</c>, in one field or several (HTTP/2).</summary>
internal static class CookieHeader
{
    /// <summary>The value of the first cookie named <paramref name="name"/> (case-sensitive), or null.</summary>
    public static string? Value(StringValues cookie, string name)
    {
        foreach (var field in cookie)
        {
            foreach (var range in (field ?? string.Empty).AsSpan().Split(';'))
            {
                var pair = (field ?? string.Empty).AsSpan()[range].Trim();
                var equals = pair.IndexOf('=');
                if (equals > 0 && pair[..equals].Trim().SequenceEqual(name))
                {
                    return pair[(equals + 1)..].Trim().ToString();
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Keeps the cookies whose name <paramref name="keep"/> accepts in the request's <c>Cookie</c> field, in their
    /// order; removes the field when none is left. True when a cookie was removed.
    /// </summary>
    public static bool Keep(IHeaderDictionary headers, Func<string, bool> keep)
    {
        var cookie = headers.Cookie;
        if (StringValues.IsNullOrEmpty(cookie))
        {
            return false;
        }
        var kept = new System.Text.StringBuilder();
        var removed = false;
        foreach (var field in cookie)
        {
            foreach (var range in (field ?? string.Empty).AsSpan().Split(';'))
            {
                var pair = (field ?? string.Empty).AsSpan()[range].Trim();
                if (pair.IsEmpty)
                {
                    continue;
                }
                var equals = pair.IndexOf('=');
                var name = (equals < 0 ? pair : pair[..equals]).Trim().ToString();
                if (!keep(name))
                {
                    removed = true;
                    continue;
                }
                kept.Append(kept.Length == 0 ? string.Empty : "; ").Append(pair);
            }
        }
        if (!removed)
        {
            return false;
        }
        if (kept.Length == 0)
        {
            headers.Remove(HeaderNames.Cookie);
        }
        else
        {
            headers.Cookie = kept.ToString();
        }
        return true;
    }
}
