namespace CacheProxy;

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
