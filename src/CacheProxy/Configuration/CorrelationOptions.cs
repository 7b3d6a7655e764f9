namespace CacheProxy.Configuration;

/// <summary>How requests are correlated across the proxy, the upstream and the logs.</summary>
public sealed class CorrelationOptions
{
    /// <summary>Gets or sets the request and response header that carries the correlation id.</summary>
    /// <value>An HTTP token. Default <c>X-Request-ID</c>.</value>
    public string HeaderName { get; set; } = "X-Request-ID";

    /// <summary>Gets or sets the longest id accepted from a client; longer ones are replaced.</summary>
    /// <value>1 to 1024 characters. Default 128.</value>
    public int MaxLength { get; set; } = 128;
}
