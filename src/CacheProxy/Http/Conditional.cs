using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Http;

/// <summary>Evaluation of a client's conditional GET/HEAD against a stored response (RFC 9110 §13.2.2).</summary>
internal static class Conditional
{
    /// <summary>True when the client's preconditions say its copy is current, so 304 is the answer.</summary>
    /// <param name="request">The request's header fields.</param>
    /// <param name="etag">The stored response's entity tag, if any.</param>
    /// <param name="lastModified">The stored response's modification date (RFC 9111 §4.3.2: else Date, else the time received).</param>
    /// <param name="now">About now: resolves the century of a two-digit year (<see cref="HttpDate"/>).</param>
    public static bool IsNotModified(IHeaderDictionary request, StringValues etag, DateTimeOffset lastModified, DateTimeOffset now)
    {
        var ifNoneMatch = request.IfNoneMatch;
        if (!StringValues.IsNullOrEmpty(ifNoneMatch))
        {
            // If-Modified-Since is ignored when If-None-Match is present (RFC 9110 §13.1.3).
            return !StringValues.IsNullOrEmpty(etag) && WeakMatch(ifNoneMatch, etag[0]);
        }
        var ifModifiedSince = request.IfModifiedSince;
        // RFC 9110 §13.1.3: an invalid date, or more than one, is ignored.
        return HttpDate.TryParse(ifModifiedSince, now, out var since) && lastModified <= since;
    }

    /// <summary>Weak comparison of an If-None-Match list with an entity tag; <c>*</c> matches any.</summary>
    public static bool WeakMatch(StringValues list, string? etag)
    {
        if (string.IsNullOrEmpty(etag))
        {
            return false;
        }
        var opaque = Opaque(etag.AsSpan());
        foreach (var line in list)
        {
            if (line is null)
            {
                continue;
            }
            var span = line.AsSpan();
            foreach (var range in span.Split(','))
            {
                var candidate = span[range].Trim();
                if (candidate.SequenceEqual("*") || (!candidate.IsEmpty && Opaque(candidate).SequenceEqual(opaque)))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>
    /// RFC 9110 §13.1.5: a range is served only while If-Range still names the stored representation — its strong
    /// entity tag, or exactly its Last-Modified date. True without If-Range.
    /// </summary>
    public static bool IfRangeHolds(StringValues ifRange, StringValues etag, DateTimeOffset? lastModified)
    {
        if (StringValues.IsNullOrEmpty(ifRange))
        {
            return true;
        }
        var value = ifRange[0]!;
        if (value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal))
        {
            return !value.StartsWith("W/", StringComparison.Ordinal) && !StringValues.IsNullOrEmpty(etag)
                && string.Equals(etag[0], value, StringComparison.Ordinal);
        }
        return lastModified is { } lm && HttpDate.TryParse(ifRange, lm, out var date) && date == lm;
    }

    private static ReadOnlySpan<char> Opaque(ReadOnlySpan<char> tag) =>
        tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
}
