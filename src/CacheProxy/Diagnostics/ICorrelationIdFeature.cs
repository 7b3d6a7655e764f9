namespace CacheProxy;

/// <summary>The correlation id of the current request.</summary>
public interface ICorrelationIdFeature
{
    /// <summary>Gets the id: the client's valid X-Request-ID, or one CacheProxy generated.</summary>
    string CorrelationId { get; }
}
