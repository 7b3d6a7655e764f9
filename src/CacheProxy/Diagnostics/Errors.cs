namespace CacheProxy.Diagnostics;

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
}

/// <summary>
/// Set on <c>HttpContext.Features</c> when CacheProxy answered a request with an error of its own, so the hosting
/// app can see what happened (compare YARP's <c>IForwarderErrorFeature</c>).
/// </summary>
public interface ICacheProxyErrorFeature
{
    /// <summary>Gets the error.</summary>
    CacheProxyError Error { get; }

    /// <summary>Gets the category of the failure.</summary>
    ErrorCategory Category { get; }

    /// <summary>Gets the exception behind it, if any.</summary>
    Exception? Exception { get; }
}

internal sealed record CacheProxyErrorFeature(CacheProxyError Error, ErrorCategory Category, Exception? Exception) : ICacheProxyErrorFeature;

/// <summary>Names and statuses of errors, in one place.</summary>
internal static class ErrorInfo
{
    /// <summary>The bounded name used as metric tag and problem-body "category".</summary>
    public static string Name(ErrorCategory category) => category switch
    {
        ErrorCategory.Client => "client",
        ErrorCategory.UpstreamConnect => "upstream-connect",
        ErrorCategory.UpstreamTimeout => "upstream-timeout",
        ErrorCategory.UpstreamProtocol => "upstream-protocol",
        ErrorCategory.Store => "store",
        ErrorCategory.Config => "config",
        ErrorCategory.Security => "security",
        ErrorCategory.Maintenance => "maintenance",
        _ => "internal",
    };

    public static int Status(CacheProxyError error) => error switch
    {
        CacheProxyError.UpstreamUnreachable or CacheProxyError.UpstreamProtocol => 502,
        CacheProxyError.UpstreamTimeout or CacheProxyError.NotCached => 504,
        CacheProxyError.NoUpstreamAvailable => 503,
        CacheProxyError.BadRequest or CacheProxyError.InvalidPurge => 400,
        CacheProxyError.PayloadTooLarge => 413,
        CacheProxyError.Unauthorized => 401,
        CacheProxyError.Forbidden => 403,
        CacheProxyError.TooManyAttempts => 429,
        CacheProxyError.PurgeNotPublished or CacheProxyError.Maintenance or CacheProxyError.MaintenanceNotShared => 503,
        CacheProxyError.Conflict => 409,
        _ => 500,
    };

    public static (string Slug, string Title) Describe(CacheProxyError error) => error switch
    {
        CacheProxyError.UpstreamUnreachable => ("upstream-unreachable", "The upstream server could not be reached"),
        CacheProxyError.UpstreamTimeout => ("upstream-timeout", "The upstream server did not answer in time"),
        CacheProxyError.UpstreamProtocol => ("upstream-protocol", "The upstream server sent an invalid response"),
        CacheProxyError.NoUpstreamAvailable => ("no-upstream-available", "No upstream server is available"),
        CacheProxyError.BadRequest => ("bad-request", "The request is malformed"),
        CacheProxyError.PayloadTooLarge => ("payload-too-large", "The request body is too large"),
        CacheProxyError.NotCached => ("not-cached", "No stored response satisfies only-if-cached"),
        CacheProxyError.Unauthorized => ("unauthorized", "A valid API key is required"),
        CacheProxyError.Forbidden => ("forbidden", "Management calls are not allowed from this address"),
        CacheProxyError.TooManyAttempts => ("too-many-attempts", "Too many failed attempts from this address; try again later"),
        CacheProxyError.InvalidPurge => ("invalid-purge", "The purge request is invalid"),
        CacheProxyError.PurgeNotPublished => ("purge-not-published", "The purge holds on this instance but could not reach the others; retry it"),
        CacheProxyError.Maintenance => ("maintenance", "The service is down for maintenance; retry later"),
        CacheProxyError.MaintenanceNotShared => ("maintenance-not-shared", "The maintenance switch holds on this instance but could not reach the others; retry it"),
        CacheProxyError.Conflict => ("conflict", "The request conflicts with work under way"),
        _ => ("internal", "The proxy failed to handle the request"),
    };
}
