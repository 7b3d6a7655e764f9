using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>Builds cache keys, applying every registered <see cref="ICacheKeyCustomizer"/>.</summary>
internal sealed class CacheKey
{
    // Key layout (the only place it is written down):
    //   primary:   {scheme}\x1F{host}\x1F{path-base + path}\x1F{query}[\x1F{name}\x1D{value}]…
    //   variant:   {primary}\x1E{vary generation}\x1E{value of 1st Vary field}\x1F{value of 2nd}…
    // The bracketed part repeats for each value an ICacheKeyCustomizer added. GET and HEAD share a key: HEAD is
    // answered from a stored GET. Fields are separated by control characters; a URL, header or added value that
    // contains one is not cached (Build returns null), so no two different requests can build the same key.
    public const char FieldSeparator = '\x1F';
    public const char ValueSeparator = '\x1D';
    public const char VariantSeparator = '\x1E';
    public const string AbsentValue = "\x02";

    private readonly ICacheKeyCustomizer[] _customizers;

    public CacheKey(IEnumerable<ICacheKeyCustomizer> customizers) => _customizers = [.. customizers];

    /// <summary>Gets whether customizers change keys; then a key is always built as a string.</summary>
    public bool Customized => _customizers.Length > 0;

    /// <summary>The primary key of the request, or null when it cannot have one.</summary>
    /// <param name="context">The request.</param>
    /// <param name="keyedHeaders">Request fields a route keys on (<see cref="RequestScreening"/>), appended like a customizer's values.</param>
    /// <param name="query">The query in place of the request's (<see cref="CacheContext.KeyQuery"/>), or null.</param>
    public string? Build(HttpContext context, IReadOnlyList<KeyValuePair<string, string>>? keyedHeaders = null, string? query = null)
    {
        var request = context.Request;
        return Build(context, request.PathBase.Add(request.Path).Value ?? string.Empty, query ?? request.QueryString.Value ?? string.Empty, keyedHeaders);
    }

    /// <summary>The key of a URI on the request's scheme and host (Location / Content-Location), or null (RFC 9111 §4.4).</summary>
    public string? BuildForUri(HttpContext context, string uriReference)
    {
        var request = context.Request;
        var baseUri = new Uri($"{request.Scheme}://{request.Host.Value}{request.PathBase}{request.Path}");
        if (!Uri.TryCreate(baseUri, uriReference, out var target)
            || !string.Equals(target.Scheme, baseUri.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(target.Authority, baseUri.Authority, StringComparison.OrdinalIgnoreCase))
        {
            return null; // only URIs with the same origin as the target URI are invalidated
        }
        return Build(context, PathString.FromUriComponent(target).Value ?? string.Empty, QueryString.FromUriComponent(target).Value ?? string.Empty);
    }

    private string? Build(HttpContext context, string path, string query, IReadOnlyList<KeyValuePair<string, string>>? keyedHeaders = null)
    {
        var request = context.Request;
        if (_customizers.Length == 0 && keyedHeaders is not { Count: > 0 })
        {
            var parts = new Parts(request.Scheme, request.Host.Value ?? string.Empty, path, query);
            return parts.Cacheable ? string.Create(parts.Length, parts, static (span, p) => p.WriteTo(span)) : null;
        }
        var keyContext = new CacheKeyContext();
        keyContext.Start(context, path, query);
        foreach (var customizer in _customizers)
        {
            customizer.Customize(keyContext);
        }
        foreach (var (name, value) in keyedHeaders ?? [])
        {
            keyContext.Add(name, value);
        }
        var custom = new Parts(request.Scheme, request.Host.Value ?? string.Empty, keyContext.Path, keyContext.Query);
        if (!custom.Cacheable)
        {
            return null;
        }
        var sb = new StringBuilder(custom.Length + 32);
        sb.Append(string.Create(custom.Length, custom, static (span, p) => p.WriteTo(span)));
        foreach (var (name, value) in keyContext.Values)
        {
            if (HasControl(name) || (value != AbsentValue && HasControl(value)))
            {
                return null;
            }
            sb.Append(FieldSeparator).Append(name).Append(ValueSeparator).Append(value);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The key of <paramref name="context"/>'s request for a lookup: written into <paramref name="buffer"/> (its first
    /// <paramref name="length"/> characters, <paramref name="key"/> null) when no customizer is registered and it fits,
    /// else built as a string. False when the request has no key.
    /// </summary>
    public bool TryWriteForLookup(HttpContext context, Span<char> buffer, out string? key, out int length)
    {
        length = 0;
        if (!Customized)
        {
            length = TryWrite(context.Request, buffer);
            if (length <= buffer.Length)
            {
                key = null;
                return length > 0;
            }
            length = 0;
        }
        key = Build(context);
        return key is not null;
    }

    /// <summary>
    /// Writes the key of <paramref name="request"/> into <paramref name="destination"/> for a lookup that needs no
    /// string (the fresh-hit path), when no customizer is registered. Returns the key's length; -1 when the request
    /// has no key; a length larger than the destination when it did not fit, and nothing was written.
    /// </summary>
    public static int TryWrite(HttpRequest request, Span<char> destination)
    {
        var parts = new Parts(request.Scheme, request.Host.Value ?? string.Empty, request.PathBase.Value ?? string.Empty,
            request.Path.Value ?? string.Empty, request.QueryString.Value ?? string.Empty);
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

    /// <summary>
    /// The part of a key that a URL determines — scheme, host, path and query — without the values key customizers
    /// added and without a variant's part: what a purge by URL matches.
    /// </summary>
    public static ReadOnlySpan<char> UrlPart(ReadOnlySpan<char> key)
    {
        var separators = 0;
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == VariantSeparator || (key[i] == FieldSeparator && ++separators == 4))
            {
                return key[..i];
            }
        }
        return key;
    }

    /// <summary>The URL part of the key of an absolute URL as it would be requested (see <see cref="UrlPart"/>); null when it has none.</summary>
    public static string? ForUrl(Uri url)
    {
        var parts = new Parts(url.Scheme, url.Authority, PathString.FromUriComponent(url).Value ?? string.Empty,
            QueryString.FromUriComponent(url).Value ?? string.Empty);
        return parts.Cacheable ? string.Create(parts.Length, parts, static (span, p) => p.WriteTo(span)) : null;
    }

    /// <summary>
    /// The key prefix of an absolute http(s) URL prefix: its scheme and host as in keys, then the rest literally —
    /// the path as Kestrel decodes it, the query (from its <c>?</c>) after the key's field separator. Null when it
    /// is not such a URL or holds a control character.
    /// </summary>
    public static string? PrefixForUrl(string prefix)
    {
        if (!Http.HttpUrl.TryParse(prefix, out var uri))
        {
            return null;
        }
        var authorityEnd = prefix.IndexOfAny(['/', '?'], prefix.IndexOf("://", StringComparison.Ordinal) + 3);
        var rest = authorityEnd < 0 ? string.Empty : prefix[authorityEnd..];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? rest : rest[..question];
        var parts = new Parts(uri.Scheme, uri.Authority, path.Length == 0 ? string.Empty : PathString.FromUriComponent(path).Value ?? string.Empty,
            string.Empty);
        if (!parts.Cacheable || (question >= 0 && HasControl(rest[question..])))
        {
            return null;
        }
        var key = string.Create(parts.Length, parts, static (span, p) => p.WriteTo(span));
        return question < 0 ? key[..^1] : key + rest[question..]; // without the query, no field separator after the path
    }

    /// <summary>The hash of a request's primary key for logs (<see cref="Hash"/>), building the key if it is not at hand.</summary>
    public string HashFor(CacheContext context) => Hash(context.Key ?? Build(context.HttpContext) ?? string.Empty);

    /// <summary>A short hash of a key for logs: keys may hold user data and must not be logged raw.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)), 0, 8);

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

    private readonly record struct Parts(string Scheme, string Host, string PathBase, string Path, string Query)
    {
        public Parts(string scheme, string host, string path, string query)
            : this(scheme, host, string.Empty, path, query)
        {
        }

        public int Length => Scheme.Length + Host.Length + PathBase.Length + Path.Length + Query.Length + 3;

        public bool Cacheable => !(HasControl(Host) || HasControl(PathBase) || HasControl(Path) || HasControl(Query));

        public void WriteTo(Span<char> span)
        {
            var i = Scheme.AsSpan().ToLowerInvariant(span);
            span[i++] = FieldSeparator;
            i += Host.AsSpan().ToLowerInvariant(span[i..]);
            span[i++] = FieldSeparator;
            PathBase.AsSpan().CopyTo(span[i..]);
            i += PathBase.Length;
            Path.AsSpan().CopyTo(span[i..]);
            i += Path.Length;
            span[i++] = FieldSeparator;
            Query.AsSpan().CopyTo(span[i..]);
        }
    }
}
