using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>Builds cache keys.</summary>
internal static class CacheKey
{
    // Key layout (the only place it is written down):
    //   primary:   {scheme}\x1F{host}\x1F{path-base + path}\x1F{query}
    //   variant:   {primary}\x1E{vary generation}\x1E{value of 1st Vary field}\x1F{value of 2nd}…
    // GET and HEAD share a key: HEAD is answered from a stored GET. Fields are separated by control
    // characters; a URL or header that contains one is not cached (Build returns null), so no two
    // different requests can build the same key.
    public const char FieldSeparator = '\x1F';
    public const char VariantSeparator = '\x1E';
    public const string AbsentValue = "\x02";

    public static string? Build(HttpRequest request)
    {
        var host = request.Host.Value ?? string.Empty;
        var pathBase = request.PathBase.Value ?? string.Empty;
        var path = request.Path.Value ?? string.Empty;
        var query = request.QueryString.Value ?? string.Empty;
        return Build(request.Scheme, host, pathBase, path, query);
    }

    public static string? Build(string scheme, string host, string pathBase, string path, string query)
    {
        var length = scheme.Length + host.Length + pathBase.Length + path.Length + query.Length + 3;
        if (HasControl(host) || HasControl(pathBase) || HasControl(path) || HasControl(query))
        {
            return null;
        }
        return string.Create(length, (scheme, host, pathBase, path, query), static (span, s) =>
        {
            var i = 0;
            Append(span, ref i, s.scheme, lower: true);
            span[i++] = FieldSeparator;
            Append(span, ref i, s.host, lower: true);
            span[i++] = FieldSeparator;
            Append(span, ref i, s.pathBase, lower: false);
            Append(span, ref i, s.path, lower: false);
            span[i++] = FieldSeparator;
            Append(span, ref i, s.query, lower: false);
        });
    }

    /// <summary>The key of an absolute URI on the same scheme and host (Location / Content-Location), or null.</summary>
    public static string? BuildForUri(HttpRequest request, string uriReference)
    {
        var baseUri = new Uri($"{request.Scheme}://{request.Host.Value}{request.PathBase}{request.Path}");
        if (!Uri.TryCreate(baseUri, uriReference, out var target))
        {
            return null;
        }
        // RFC 9111 §4.4: only URIs with the same origin as the target URI are invalidated.
        if (!string.Equals(target.Scheme, baseUri.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(target.Authority, baseUri.Authority, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return Build(request.Scheme, request.Host.Value ?? string.Empty, string.Empty,
            PathString.FromUriComponent(target).Value ?? string.Empty, QueryString.FromUriComponent(target).Value ?? string.Empty);
    }

    /// <summary>A short hash of a key for logs: keys may hold user data and must not be logged raw.</summary>
    public static string Hash(string key)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        return Convert.ToHexStringLower(SHA256.HashData(bytes), 0, 8);
    }

    private static void Append(Span<char> span, ref int i, string value, bool lower)
    {
        if (lower)
        {
            i += value.AsSpan().ToLowerInvariant(span[i..]);
        }
        else
        {
            value.AsSpan().CopyTo(span[i..]);
            i += value.Length;
        }
    }

    internal static bool HasControl(string value)
    {
        foreach (var c in value)
        {
            if (c < ' ' || c == '\x7F')
            {
                return true;
            }
        }
        return false;
    }
}
