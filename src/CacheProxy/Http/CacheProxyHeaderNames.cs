namespace CacheProxy.Http;

/// <summary>Header names that <see cref="Microsoft.Net.Http.Headers.HeaderNames"/> lacks.</summary>
internal static class CacheProxyHeaderNames
{
    public const string CdnCacheControl = "CDN-Cache-Control";
    public const string CacheStatus = "Cache-Status";
    public const string SurrogateControl = "Surrogate-Control";
    public const string KeepAlive = "Keep-Alive";
    public const string ProxyConnection = "Proxy-Connection";
}
