using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Http;

/// <summary>The response header values that caching decisions read.</summary>
internal readonly record struct CacheHeaders(
    StringValues CacheControl,
    StringValues CdnCacheControl,
    StringValues Expires,
    StringValues Date,
    StringValues LastModified,
    StringValues Age,
    StringValues ETag)
{
    public static CacheHeaders From(Microsoft.AspNetCore.Http.IHeaderDictionary h) => new(
        h.CacheControl, h[CacheProxyHeaderNames.CdnCacheControl], h.Expires, h.Date, h.LastModified, h.Age, h.ETag);
}

/// <summary>Freshness and age arithmetic, RFC 9111 §4.2.</summary>
internal static class Freshness
{
    /// <summary>Status codes that are heuristically cacheable (RFC 9110 §15.1).</summary>
    public static bool IsHeuristicallyCacheable(int status) =>
        status is 200 or 203 or 204 or 206 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>
    /// Which Cache-Control governs a shared cache: CDN-Cache-Control (RFC 9213 §2.1) when present and valid,
    /// otherwise Cache-Control.
    /// </summary>
    public static CacheControl Governing(in CacheHeaders headers, bool honorCdnCacheControl, out bool targeted)
    {
        if (honorCdnCacheControl && !StringValues.IsNullOrEmpty(headers.CdnCacheControl))
        {
            var cdn = CacheControl.Parse(headers.CdnCacheControl);
            targeted = true;
            return cdn;
        }
        targeted = false;
        return CacheControl.Parse(headers.CacheControl);
    }

    /// <summary>RFC 9111 §4.2.1: the freshness lifetime of a response, as a shared cache.</summary>
    /// <returns>The lifetime; <paramref name="heuristic"/> tells whether it came from §4.2.2.</returns>
    public static TimeSpan Lifetime(in CacheHeaders headers, in CacheControl cc, int status, DateTimeOffset responseTime,
        double heuristicFraction, TimeSpan heuristicMax, out bool explicitExpiry, out bool heuristic)
    {
        heuristic = false;
        explicitExpiry = true;
        if (cc.SharedMaxAge != CacheControl.Absent)
        {
            return Seconds(cc.SharedMaxAge);
        }
        if (cc.MaxAge != CacheControl.Absent)
        {
            return Seconds(cc.MaxAge);
        }
        if (!StringValues.IsNullOrEmpty(headers.Expires))
        {
            // An invalid Expires (e.g. "0") means already expired (§5.3).
            if (!TryParseDate(headers.Expires, out var expires))
            {
                return TimeSpan.Zero;
            }
            var date = TryParseDate(headers.Date, out var d) ? d : responseTime;
            var lifetime = expires - date;
            return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
        }
        explicitExpiry = false;
        if ((IsHeuristicallyCacheable(status) || cc.Public) && TryParseDate(headers.LastModified, out var lastModified))
        {
            var date = TryParseDate(headers.Date, out var d) ? d : responseTime;
            var since = date - lastModified;
            if (since > TimeSpan.Zero)
            {
                heuristic = true;
                var h = TimeSpan.FromTicks((long)(since.Ticks * heuristicFraction));
                return h < heuristicMax ? h : heuristicMax;
            }
        }
        return TimeSpan.Zero;
    }

    /// <summary>RFC 9111 §4.2.3: corrected_initial_age, computed once when the response is received.</summary>
    public static TimeSpan CorrectedInitialAge(in CacheHeaders headers, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var apparentAge = TimeSpan.Zero;
        if (TryParseDate(headers.Date, out var date))
        {
            apparentAge = responseTime - date;
            if (apparentAge < TimeSpan.Zero)
            {
                apparentAge = TimeSpan.Zero;
            }
        }
        var responseDelay = responseTime - requestTime;
        var correctedAgeValue = TryParseAge(headers.Age, out var age) ? age + responseDelay : responseDelay;
        return apparentAge > correctedAgeValue ? apparentAge : correctedAgeValue;
    }

    /// <summary>Age = delta-seconds (RFC 9111 §5.1); an invalid value is ignored; the first of several is used.</summary>
    public static bool TryParseAge(StringValues values, out TimeSpan age)
    {
        age = TimeSpan.Zero;
        if (StringValues.IsNullOrEmpty(values))
        {
            return false;
        }
        var first = values[0].AsSpan();
        var comma = first.IndexOf(',');
        if (comma >= 0)
        {
            first = first[..comma];
        }
        if (CacheControl.TryDelta(first.Trim(), true, out var seconds))
        {
            age = Seconds(seconds);
            return true;
        }
        return false;
    }

    /// <summary>HTTP-date (RFC 9110 §5.6.7), the first value when repeated.</summary>
    public static bool TryParseDate(StringValues values, out DateTimeOffset date)
    {
        date = default;
        return !StringValues.IsNullOrEmpty(values) && HeaderUtilities.TryParseDate(values[0], out date);
    }

    public static TimeSpan Seconds(long seconds) => seconds <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(seconds);
}
