using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Http;

/// <summary>
/// The response fields meant for this cache alone, removed before a response goes on (stored, they stay: freshness is
/// worked out from them): Surrogate-Control when honoured (Edge Architecture), and this gateway's own targeted field
/// (<see cref="CacheProxyOptions.TargetedCacheControl"/>, RFC 9213 §2).
/// </summary>
internal static class ConsumedFields
{
    public static bool Contains(string name, CacheProxyOptions options) =>
        (options.HonorSurrogateControl && name.Equals(CacheProxyHeaderNames.SurrogateControl, StringComparison.OrdinalIgnoreCase))
        || (options.TargetedCacheControl.Length > 0 && name.Equals(options.TargetedCacheControl, StringComparison.OrdinalIgnoreCase));

    public static void Remove(IHeaderDictionary headers, CacheProxyOptions options)
    {
        if (options.HonorSurrogateControl)
        {
            headers.Remove(CacheProxyHeaderNames.SurrogateControl);
        }
        if (options.TargetedCacheControl.Length > 0)
        {
            headers.Remove(options.TargetedCacheControl);
        }
    }
}
