namespace CacheProxy.Http;

/// <summary>A single byte range request (RFC 9110 §14.1.2), resolved against a representation length.</summary>
internal static class ByteRange
{
    public enum Outcome
    {
        /// <summary>Serve the whole representation (no range, several ranges, or a syntax we do not serve).</summary>
        Full,

        /// <summary>Serve the range from <c>start</c>, <c>length</c> bytes, as 206.</summary>
        Partial,

        /// <summary>416: the range does not overlap the representation.</summary>
        Unsatisfiable,
    }

    public static Outcome Resolve(string? header, long length, out long start, out long count)
    {
        start = 0;
        count = length;
        if (string.IsNullOrEmpty(header))
        {
            return Outcome.Full;
        }
        var s = header.AsSpan().Trim();
        if (!s.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return Outcome.Full; // unknown unit: ignore Range (§14.2)
        }
        s = s[6..].Trim();
        if (s.Contains(','))
        {
            return Outcome.Full; // multiple ranges: a full 200 is a valid answer
        }
        var dash = s.IndexOf('-');
        if (dash < 0)
        {
            return Outcome.Full;
        }
        var first = s[..dash].Trim();
        var last = s[(dash + 1)..].Trim();
        if (first.IsEmpty)
        {
            // suffix-range: the last N bytes
            if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out var suffix))
            {
                return Outcome.Full;
            }
            if (suffix == 0 || length == 0)
            {
                return Outcome.Unsatisfiable;
            }
            count = Math.Min(suffix, length);
            start = length - count;
            return Outcome.Partial;
        }
        if (!long.TryParse(first, System.Globalization.NumberStyles.None, null, out var from))
        {
            return Outcome.Full;
        }
        var to = length - 1;
        if (!last.IsEmpty)
        {
            if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out to) || to < from)
            {
                return Outcome.Full; // invalid range-spec: ignore the header
            }
            to = Math.Min(to, length - 1);
        }
        if (from >= length)
        {
            return Outcome.Unsatisfiable;
        }
        start = from;
        count = to - from + 1;
        return Outcome.Partial;
    }
}
