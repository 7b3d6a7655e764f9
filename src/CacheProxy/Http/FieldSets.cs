using System.Collections.Frozen;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Http;

/// <summary>
/// The named sets of header fields the cache consults, each with the rule it comes from: one place for each list,
/// compared without case as field names are (RFC 9110 §5.1).
/// </summary>
internal static class FieldSets
{
    /// <summary>RFC 9110 §7.6.1: hop-by-hop fields, about one connection — never stored, never replayed from the cache.</summary>
    public static readonly FrozenSet<string> HopByHop = Set(HeaderNames.Connection, CacheProxyHeaderNames.KeepAlive,
        CacheProxyHeaderNames.ProxyConnection, HeaderNames.TE, HeaderNames.TransferEncoding, HeaderNames.Upgrade, HeaderNames.Trailer,
        HeaderNames.ProxyAuthenticate, HeaderNames.ProxyAuthorization);

    /// <summary>
    /// RFC 9113 §8.2.2: connection-specific fields that make an HTTP/2 or HTTP/3 request malformed — the ones Kestrel
    /// passes on (it refuses Connection and a TE other than trailers itself).
    /// </summary>
    public static readonly FrozenSet<string> ConnectionSpecific = Set(HeaderNames.TransferEncoding, CacheProxyHeaderNames.KeepAlive,
        CacheProxyHeaderNames.ProxyConnection, HeaderNames.Upgrade);

    /// <summary>
    /// RFC 9111 §3.2: fields that describe the stored bytes — their length, coding, range, digest, and the validator
    /// that names them — which a 304 does not replace.
    /// </summary>
    public static readonly FrozenSet<string> DescribesStoredBody = Set(HeaderNames.ContentLength, HeaderNames.ContentEncoding,
        HeaderNames.ContentRange, HeaderNames.ContentMD5, HeaderNames.ETag, "Digest", "Content-Digest", "Repr-Digest");

    /// <summary>RFC 9110 §15.4.5: representation metadata a 304 does not carry.</summary>
    public static readonly FrozenSet<string> NotIn304 = Set(HeaderNames.ContentType, HeaderNames.ContentEncoding,
        HeaderNames.ContentLanguage, HeaderNames.ContentRange);

    /// <summary>
    /// The names of the request's fields spelled with an underscore, which CGI, PHP and the frameworks after them read
    /// as the hyphenated name; null when there is none (nothing allocated but the enumeration).
    /// </summary>
    public static List<string>? WithUnderscore(Microsoft.AspNetCore.Http.IHeaderDictionary headers)
    {
        List<string>? found = null;
        foreach (var field in headers)
        {
            if (field.Key.Contains('_'))
            {
                (found ??= []).Add(field.Key);
            }
        }
        return found;
    }

    private static FrozenSet<string> Set(params string[] names) => names.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
