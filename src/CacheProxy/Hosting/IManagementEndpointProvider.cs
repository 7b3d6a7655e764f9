using Microsoft.AspNetCore.Routing;

namespace CacheProxy;

/// <summary>
/// Adds endpoints to the management plane (the management port, with its protections). Register implementations
/// with <c>TryAddEnumerable</c>; <c>MapCacheProxyManagement</c> calls each one.
/// </summary>
public interface IManagementEndpointProvider
{
    /// <summary>Maps the provider's endpoints.</summary>
    /// <param name="management">The management endpoint group.</param>
    void MapEndpoints(IEndpointRouteBuilder management);
}
