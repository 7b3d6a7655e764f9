using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>Which response header fields are stored and replayed (RFC 9111 §3.1).</summary>
internal static class HeaderFilter
{
    /// <summary>
    /// Copies the fields that may be stored, leaving out hop-by-hop, Connection-listed and private="…" ones, and the
    /// correlation id header (it belongs to one request; every response gets its own).
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> ForStorage(IHeaderDictionary headers, string[]? privateFields, string correlationHeader)
    {
        var connection = headers.Connection;
        var result = new List<KeyValuePair<string, StringValues>>(headers.Count);
        foreach (var h in headers)
        {
            if (FieldSets.HopByHop.Contains(h.Key) || Listed(connection, h.Key) || Contains(privateFields, h.Key)
                || h.Key.Equals(CacheProxyHeaderNames.CacheStatus, StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals(correlationHeader, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            result.Add(h);
        }
        return result;
    }

    /// <summary>
    /// RFC 9111 §3.2 / §4.3.4: the stored fields updated from a 304. Every field of the 304 replaces the stored
    /// one, except fields that describe the stored body and fields that are never stored. Age and Date describe the message, so a
    /// stored one is dropped when the 304 lacks it.
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> Update(IReadOnlyList<KeyValuePair<string, StringValues>> stored,
        IReadOnlyList<KeyValuePair<string, StringValues>> notModified)
    {
        var result = new List<KeyValuePair<string, StringValues>>(stored.Count + notModified.Count);
        foreach (var h in stored)
        {
            if ((!Has(notModified, h.Key) || FieldSets.DescribesStoredBody.Contains(h.Key)) && !h.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase)
                && !h.Key.Equals(HeaderNames.Date, StringComparison.OrdinalIgnoreCase))
            {
                result.Add(h);
            }
        }
        foreach (var h in notModified)
        {
            if (!FieldSets.DescribesStoredBody.Contains(h.Key))
            {
                result.Add(h);
            }
        }
        return result;
    }

    private static bool Has(IReadOnlyList<KeyValuePair<string, StringValues>> headers, string name)
    {
        foreach (var h in headers)
        {
            if (h.Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Contains(string[]? names, string name)
    {
        if (names is null)
        {
            return false;
        }
        foreach (var n in names)
        {
            if (n.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Listed(StringValues connection, string name)
    {
        foreach (var line in connection)
        {
            if (line is null)
            {
                continue;
            }
            var span = line.AsSpan();
            foreach (var range in span.Split(','))
            {
                if (span[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
