namespace CacheProxy;

/// <summary>Tags of health checks, as <c>MapCacheProxyManagement</c> selects them.</summary>
public static class HealthTags
{
    /// <summary>
    /// Checks that decide readiness (<c>/health/ready</c>): whether this instance should get traffic. Tag an app's own
    /// check with it to take part. Liveness (<c>/health/live</c>) runs no check: the process answers.
    /// </summary>
    public const string Ready = "ready";
}
