namespace CacheProxy;

/// <summary>Where a failure comes from; every failure CacheProxy sees has one, in logs, metrics and problem bodies.</summary>
public enum ErrorCategory
{
    /// <summary>The client sent something wrong or went away (400, 413, aborted requests).</summary>
    Client = 0,

    /// <summary>The upstream could not be reached (refused, reset, DNS, TLS, no destination).</summary>
    UpstreamConnect = 1,

    /// <summary>The upstream did not answer in time.</summary>
    UpstreamTimeout = 2,

    /// <summary>The upstream answered wrongly (invalid headers, body shorter than Content-Length, reset mid-body).</summary>
    UpstreamProtocol = 3,

    /// <summary>A cache store failed.</summary>
    Store = 4,

    /// <summary>The configuration is invalid.</summary>
    Config = 5,

    /// <summary>A call was refused for security reasons (wrong port, missing key, blocked address).</summary>
    Security = 6,

    /// <summary>A fault in CacheProxy itself.</summary>
    Internal = 7,

    /// <summary>Maintenance mode refused a request that nothing stored could answer.</summary>
    Maintenance = 8,
}
