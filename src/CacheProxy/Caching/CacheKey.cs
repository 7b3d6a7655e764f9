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

    public static string? Build(HttpRequest request) => Build(Parts.Of(request));

    public static string? Build(string scheme, string host, string pathBase, string path, string query) =>
        Build(new Parts(scheme, host, pathBase, path, query));

    private static string? Build(Parts parts) =>
        parts.Cacheable ? string.Create(parts.Length, parts, static (span, p) => p.WriteTo(span)) : null;

    /// <summary>
    /// Writes the key of <paramref name="request"/> into <paramref name="destination"/> for a lookup that needs no
    /// string (the fresh-hit path). Returns the key's length; -1 when the request has no key (<see cref="Build(HttpRequest)"/>
    /// is null); a length larger than the destination when it did not fit, and nothing was written.
    /// </summary>
    public static int TryWrite(HttpRequest request, Span<char> destination)
    {
        var parts = Parts.Of(request);
        if (!parts.Cacheable)
        {
            return -1;
        }
        if (parts.Length <= destination.Length)
        {
            parts.WriteTo(destination);
        }
        return parts.Length;
    }

    private readonly record struct Parts(string Scheme, string Host, string PathBase, string Path, string Query)
    {
        public static Parts Of(HttpRequest request) => new(request.Scheme, request.Host.Value ?? string.Empty,
            request.PathBase.Value ?? string.Empty, request.Path.Value ?? string.Empty, request.QueryString.Value ?? string.Empty);

        public int Length => Scheme.Length + Host.Length + PathBase.Length + Path.Length + Query.Length + 3;

        public bool Cacheable => !(HasControl(Host) || HasControl(PathBase) || HasControl(Path) || HasControl(Query));

        public void WriteTo(Span<char> span)
        {
            var i = 0;
            Append(span, ref i, Scheme, lower: true);
            span[i++] = FieldSeparator;
            Append(span, ref i, Host, lower: true);
            span[i++] = FieldSeparator;
            Append(span, ref i, PathBase, lower: false);
            Append(span, ref i, Path, lower: false);
            span[i++] = FieldSeparator;
            Append(span, ref i, Query, lower: false);
        }
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
