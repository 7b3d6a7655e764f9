namespace CacheProxy.Configuration;

/// <summary>What is done with a request field the cache key does not include (<see cref="CacheProxyOptions.UnkeyedRequestHeaders"/>).</summary>
public enum UnkeyedHeaderAction
{
    /// <summary>Removed before the request is forwarded. The default.</summary>
    Remove = 0,

    /// <summary>Forwarded, and its value made part of the cache key: requests with different values never share a response.</summary>
    Key = 1,

    /// <summary>Forwarded; a GET or HEAD carrying it is neither answered from the cache nor stored.</summary>
    Bypass = 2,

    /// <summary>Forwarded unchanged and ignored, as if not listed (a trusted load balancer in front sets it).</summary>
    Forward = 3,
}
