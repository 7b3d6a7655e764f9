namespace CacheProxy.Diagnostics;

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
        CacheProxyError.UpstreamUnreachable or CacheProxyError.UpstreamProtocol or CacheProxyError.FragmentFailed => 502,
        CacheProxyError.UpstreamTimeout or CacheProxyError.NotCached => 504,
        CacheProxyError.NoUpstreamAvailable => 503,
        CacheProxyError.BadRequest or CacheProxyError.InvalidPurge => 400,
        CacheProxyError.PayloadTooLarge => 413,
        CacheProxyError.Unauthorized => 401,
        CacheProxyError.Forbidden => 403,
        CacheProxyError.TooManyAttempts or CacheProxyError.TooManyRequests => 429,
        CacheProxyError.PurgeNotPublished or CacheProxyError.ForwardingNotQueued or CacheProxyError.Maintenance or CacheProxyError.MaintenanceNotShared => 503,
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
        CacheProxyError.TooManyRequests => ("too-many-requests", "This API key is past a limit of the management plane; try again later"),
        CacheProxyError.FragmentFailed => ("fragment-failed", "A fragment of the page could not be included"),
        CacheProxyError.ForwardingNotQueued => ("forwarding-not-queued", "The purge holds on the gateway but could not be queued for the CDNs; retry it"),
        _ => ("internal", "The proxy failed to handle the request"),
    };
}
