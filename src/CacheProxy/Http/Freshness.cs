using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Http;

/// <summary>The response header values that caching decisions read.</summary>
internal readonly record struct CacheHeaders(
    StringValues CacheControl,
    StringValues CdnCacheControl,
    StringValues SurrogateControl,
    StringValues Expires,
    StringValues Date,
    StringValues LastModified,
    StringValues Age,
    StringValues ETag,
    StringValues Own = default)
{
    public static CacheHeaders From(CacheProxy.Storage.CacheEntry e, in TargetedFields targeted) => new(
        e.GetHeader(HeaderNames.CacheControl), e.GetHeader(CacheProxyHeaderNames.CdnCacheControl),
        e.GetHeader(CacheProxyHeaderNames.SurrogateControl), e.GetHeader(HeaderNames.Expires), e.GetHeader(HeaderNames.Date),
        e.GetHeader(HeaderNames.LastModified), e.GetHeader(HeaderNames.Age), e.GetHeader(HeaderNames.ETag),
        targeted.OwnField is { } own ? e.GetHeader(own) : default);

    public static CacheHeaders From(Microsoft.AspNetCore.Http.IHeaderDictionary h, in TargetedFields targeted) => new(
        h.CacheControl, h[CacheProxyHeaderNames.CdnCacheControl], h[CacheProxyHeaderNames.SurrogateControl], h.Expires, h.Date, h.LastModified, h.Age, h.ETag,
        targeted.OwnField is { } own ? h[own] : default);
}

/// <summary>Which targeted cache-control fields this cache honours.</summary>
/// <param name="HonorCdnCacheControl">CDN-Cache-Control (RFC 9213).</param>
/// <param name="SurrogateTarget">The Surrogate-Control target name, or null when Surrogate-Control is ignored.</param>
/// <param name="OwnField">The name of this gateway's own targeted field (RFC 9213 §2), or null for none.</param>
internal readonly record struct TargetedFields(bool HonorCdnCacheControl, string? SurrogateTarget, string? OwnField = null);

/// <summary>Freshness and age arithmetic, RFC 9111 §4.2.</summary>
internal static class Freshness
{
    /// <summary>Status codes that are heuristically cacheable (RFC 9110 §15.1).</summary>
    public static bool IsHeuristicallyCacheable(int status) =>
        status is 200 or 203 or 204 or 206 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>
    /// Status codes whose caching requirements this cache implements (RFC 9110 §15); must-understand
    /// (RFC 9111 §5.2.2.3) responses with any other status are not stored.
    /// </summary>
    public static bool IsUnderstoodStatus(int status) =>
        status is (>= 200 and <= 208) or 226 or (>= 300 and <= 308) or (>= 400 and <= 418) or 421 or 422 or 425 or 426
            or 428 or 429 or 431 or 451 or (>= 500 and <= 508) or 510 or 511;

    /// <summary>
    /// Which directives govern this shared cache: its own targeted field when present, else CDN-Cache-Control (RFC 9213 §2.1) when present, else
    /// Surrogate-Control (W3C Edge Architecture 1.0) when present and aimed at us, else Cache-Control. A targeted
    /// field replaces Cache-Control entirely.
    /// </summary>
    public static CacheControl Governing(in CacheHeaders headers, in TargetedFields targeted) => Governing(headers, targeted, out _);

    /// <summary>As <see cref="Governing(in CacheHeaders, in TargetedFields)"/>; <paramref name="field"/> names the field that governs.</summary>
    public static CacheControl Governing(in CacheHeaders headers, in TargetedFields targeted, out string field)
    {
        if (targeted.OwnField is { } ownField && !StringValues.IsNullOrEmpty(headers.Own)
            && CacheControl.ParseTargeted(headers.Own) is { Present: true } own)
        {
            field = ownField;
            return own; // this gateway's own field (RFC 9213 §2), over every other
        }
        if (targeted.HonorCdnCacheControl && !StringValues.IsNullOrEmpty(headers.CdnCacheControl)
            && CacheControl.ParseTargeted(headers.CdnCacheControl) is { Present: true } cdn)
        {
            field = CacheProxyHeaderNames.CdnCacheControl;
            return cdn; // a value that is not a valid Dictionary counts as absent (RFC 9213 §2.1)
        }
        if (targeted.SurrogateTarget is not null && !StringValues.IsNullOrEmpty(headers.SurrogateControl))
        {
            var surrogate = CacheControl.Parse(headers.SurrogateControl, targeted.SurrogateTarget);
            if (surrogate.MaxAge != CacheControl.Absent || surrogate.NoStore)
            {
                field = CacheProxyHeaderNames.SurrogateControl;
                return surrogate;
            }
        }
        field = Microsoft.Net.Http.Headers.HeaderNames.CacheControl;
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
            if (!HttpDate.TryParse(headers.Expires, responseTime, out var expires))
            {
                return TimeSpan.Zero;
            }
            var date = HttpDate.TryParse(headers.Date, responseTime, out var d) ? d : responseTime;
            var lifetime = expires - date;
            return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
        }
        explicitExpiry = false;
        if ((IsHeuristicallyCacheable(status) || cc.Public) && HttpDate.TryParse(headers.LastModified, responseTime, out var lastModified))
        {
            var date = HttpDate.TryParse(headers.Date, responseTime, out var d) ? d : responseTime;
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
        if (HttpDate.TryParse(headers.Date, responseTime, out var date))
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

    public static TimeSpan Seconds(long seconds) => seconds <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(seconds);
}
