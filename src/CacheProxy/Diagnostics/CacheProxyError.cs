namespace CacheProxy;

/// <summary>An error that CacheProxy turned into its own response.</summary>
public enum CacheProxyError
{
    /// <summary>No upstream connection could be made: 502.</summary>
    UpstreamUnreachable = 0,

    /// <summary>The upstream did not answer in time: 504.</summary>
    UpstreamTimeout = 1,

    /// <summary>The upstream answered with something unusable: 502.</summary>
    UpstreamProtocol = 2,

    /// <summary>No upstream destination is available: 503.</summary>
    NoUpstreamAvailable = 3,

    /// <summary>The request was malformed: 400.</summary>
    BadRequest = 4,

    /// <summary>The request body was larger than allowed: 413.</summary>
    PayloadTooLarge = 5,

    /// <summary>only-if-cached and nothing usable was stored (RFC 9111 §5.2.1.7): 504.</summary>
    NotCached = 6,

    /// <summary>A fault in CacheProxy: 500.</summary>
    Internal = 7,

    /// <summary>A management call without a valid API key: 401.</summary>
    Unauthorized = 8,

    /// <summary>A management call from a network that is not allowed: 403.</summary>
    Forbidden = 9,

    /// <summary>A management call from an address that failed to authenticate too often: 429.</summary>
    TooManyAttempts = 10,

    /// <summary>A purge request that is malformed or past the bounds: 400, naming the field.</summary>
    InvalidPurge = 11,

    /// <summary>A purge that holds on this instance but could not be handed to the others: 503.</summary>
    PurgeNotPublished = 12,

    /// <summary>Maintenance mode is on and nothing stored answers the request: 503 with Retry-After.</summary>
    Maintenance = 13,

    /// <summary>A maintenance switch that holds on this instance but could not be kept for the others: 503.</summary>
    MaintenanceNotShared = 14,

    /// <summary>A management call that conflicts with work under way (a warming job runs): 409.</summary>
    Conflict = 15,

    /// <summary>A management call past a limit on what one API key may hold or ask (event streams, purges per second): 429.</summary>
    TooManyRequests = 16,

    /// <summary>A fragment of an ESI page failed without alt or onerror="continue", before the page's response started: 502.</summary>
    FragmentFailed = 17,

    /// <summary>A purge that holds on the gateway but whose forwarding to the CDNs could not be queued (the outbox is full or down): 503.</summary>
    ForwardingNotQueued = 18,
}
