using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>One contiguous part of a representation: bytes <see cref="First"/> to <see cref="Last"/> of <see cref="Complete"/> (RFC 9110 §14.4).</summary>
internal readonly record struct StoredPart(long First, long Last, long Complete)
{
    public long Length => Last - First + 1;

    public bool IsWhole => First == 0 && Last == Complete - 1;

    public string ContentRange => $"bytes {First}-{Last}/{Complete}";

    /// <summary>
    /// Reads <c>Content-Range: bytes first-last/complete</c>. False for another unit, an unknown complete length
    /// (<c>*</c>), an unsatisfied-range form, several values, or numbers that contradict each other.
    /// </summary>
    public static bool TryParse(StringValues contentRange, out StoredPart part)
    {
        part = default;
        if (contentRange.Count != 1 || contentRange[0] is not { } value)
        {
            return false;
        }
        var s = value.AsSpan().Trim();
        if (!s.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        s = s[6..].TrimStart();
        var dash = s.IndexOf('-');
        var slash = s.IndexOf('/');
        if (dash <= 0 || slash <= dash + 1)
        {
            return false;
        }
        const System.Globalization.NumberStyles digits = System.Globalization.NumberStyles.None;
        if (!long.TryParse(s[..dash], digits, null, out var first) || !long.TryParse(s[(dash + 1)..slash], digits, null, out var last)
            || !long.TryParse(s[(slash + 1)..], digits, null, out var complete) || first > last || last >= complete)
        {
            return false;
        }
        part = new StoredPart(first, last, complete);
        return true;
    }
}

/// <summary>
/// Partial content in the cache (RFC 9111 §3.3–3.4): a 206 is stored as the part of the representation it carries,
/// under the URL's key like a complete response; it answers only range requests that lie wholly within it, and a
/// new part of the same representation (the same strong validator) is combined with it — into the complete
/// response once the parts cover it all. docs/caching.md, "Partial content".
/// </summary>
internal static class PartialContent
{
    /// <summary>The stored 206's part; false for any other entry.</summary>
    public static bool TryRead(CacheEntry entry, out StoredPart part)
    {
        part = default;
        return entry.StatusCode == StatusCodes.Status206PartialContent && StoredPart.TryParse(entry.GetHeader(HeaderNames.ContentRange), out part);
    }

    /// <summary>
    /// RFC 9111 §3.3: may the stored part answer this request? Only a GET for one range that lies wholly within it,
    /// whose If-Range (if any) still names it; <paramref name="start"/> and <paramref name="count"/> locate that range
    /// in the representation.
    /// </summary>
    public static bool Covers(CacheEntry entry, StoredPolicy policy, HttpRequest request, out StoredPart part, out long start, out long count)
    {
        start = count = 0;
        return TryRead(entry, out part) && HttpMethods.IsGet(request.Method) && request.Headers.Range is { Count: 1 } range
            && Conditional.IfRangeHolds(request.Headers.IfRange, policy.ETag, policy.LastModifiedDate)
            && ByteRange.Resolve(range[0], part.Complete, out start, out count) == ByteRange.Outcome.Partial
            && start >= part.First && start + count - 1 <= part.Last;
    }

    /// <summary>
    /// The upstream 206 to this request, as a part that may be stored: a single-range request answered with one
    /// <c>bytes</c> range of a known complete length, whose Content-Length (when given) agrees; else why not.
    /// </summary>
    public static string? Refusal(HttpRequest request, HttpResponse response, out StoredPart part)
    {
        part = default;
        if (request.Headers.Range.Count != 1)
        {
            return "206 to a request without one Range";
        }
        if (!StoredPart.TryParse(response.Headers.ContentRange, out part))
        {
            return "206 without a Content-Range of one byte range and a known length"; // multipart/byteranges included
        }
        if (response.ContentLength is { } length && length != part.Length)
        {
            return $"206 whose Content-Length {length} contradicts Content-Range '{part.ContentRange}'";
        }
        return null;
    }

    /// <summary>
    /// RFC 9111 §3.4: the stored part and a new one of the same representation — the same strong entity tag, content
    /// coding and complete length, overlapping or adjacent — combined into one entry with the new response's header fields
    /// (Content-Range aside): a 206 of the joined part, or the complete 200 when they cover it all. Null when they
    /// cannot be combined (or the joined body would exceed <paramref name="maxObjectSize"/>).
    /// </summary>
    public static CacheEntry? Combine(CacheEntry stored, CacheEntry fresh, StoredPart freshPart, long maxObjectSize)
    {
        if (!TryRead(stored, out var storedPart) || stored.StreamedBody is not null || storedPart.Complete != freshPart.Complete
            || freshPart.First > storedPart.Last + 1 || storedPart.First > freshPart.Last + 1
            || !StrongMatch(stored.GetHeader(HeaderNames.ETag), fresh.GetHeader(HeaderNames.ETag))
            || !SameCoding(stored.GetHeader(HeaderNames.ContentEncoding), fresh.GetHeader(HeaderNames.ContentEncoding)))
        {
            return null;
        }
        var joined = new StoredPart(Math.Min(storedPart.First, freshPart.First), Math.Max(storedPart.Last, freshPart.Last), freshPart.Complete);
        if (joined.Length > maxObjectSize || joined.Length > Array.MaxLength)
        {
            return null;
        }
        var body = new byte[joined.Length];
        stored.Body.Span.CopyTo(body.AsSpan((int)(storedPart.First - joined.First)));
        fresh.Body.Span.CopyTo(body.AsSpan((int)(freshPart.First - joined.First))); // the newer bytes where they overlap
        var headers = new List<KeyValuePair<string, StringValues>>(fresh.Headers.Count);
        foreach (var h in fresh.Headers)
        {
            if (!h.Key.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(h);
            }
        }
        if (!joined.IsWhole)
        {
            headers.Add(new(HeaderNames.ContentRange, joined.ContentRange));
        }
        return new CacheEntry
        {
            StatusCode = joined.IsWhole ? StatusCodes.Status200OK : StatusCodes.Status206PartialContent,
            Headers = headers,
            Body = body,
            RequestTime = fresh.RequestTime,
            ResponseTime = fresh.ResponseTime,
            FreshnessOverride = fresh.FreshnessOverride,
            Tags = fresh.Tags,
        };
    }

    /// <summary>
    /// The rest of a stored part to ask the origin for, so that a request for the whole representation is answered
    /// from both (RFC 9111 §3.4): for an unconditional GET without Range, when the part has a strong entity tag and
    /// is the start or the end of the representation.
    /// </summary>
    public static bool TryPlanCompletion(CacheEntry stored, HttpRequest request, out StoredPart missing)
    {
        missing = default;
        var headers = request.Headers;
        if (!TryRead(stored, out var part) || !HttpMethods.IsGet(request.Method) || headers.Range.Count != 0
            || headers.IfRange.Count != 0 || headers.IfNoneMatch.Count != 0 || headers.IfModifiedSince.Count != 0
            || headers.IfMatch.Count != 0 || headers.IfUnmodifiedSince.Count != 0)
        {
            return false;
        }
        if (!IsStrong(stored.GetHeader(HeaderNames.ETag)))
        {
            return false;
        }
        if (part.First == 0)
        {
            missing = new StoredPart(part.Last + 1, part.Complete - 1, part.Complete);
        }
        else if (part.Last == part.Complete - 1)
        {
            missing = new StoredPart(0, part.First - 1, part.Complete);
        }
        return missing.Complete != 0;
    }

    /// <summary>Strong comparison of two entity tags (RFC 9110 §8.8.3.2): both present, neither weak, identical.</summary>
    public static bool StrongMatch(StringValues a, StringValues b) =>
        IsStrong(a) && b.Count == 1 && string.Equals(a[0], b[0], StringComparison.Ordinal);

    /// <summary>
    /// The same content coding (absent and <c>identity</c> alike): an origin that gives a gzip part and an identity
    /// part one entity tag (RFC 9110 §8.8.3 says it must not) must not have their bytes joined.
    /// </summary>
    private static bool SameCoding(StringValues a, StringValues b)
    {
        static string Coding(StringValues value) => value.ToString().Replace(" ", string.Empty, StringComparison.Ordinal) is { Length: > 0 } coding
            && !coding.Equals("identity", StringComparison.OrdinalIgnoreCase) ? coding : string.Empty;
        return string.Equals(Coding(a), Coding(b), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>One entity tag, and a strong one (not <c>W/</c>).</summary>
    private static bool IsStrong(StringValues etag) => etag.Count == 1 && etag[0] is { Length: > 1 } tag && tag[0] == '"';
}
