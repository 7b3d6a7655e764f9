namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddCacheProxy</c>; optional features (<c>AddRedis</c>, <c>AddPrometheus</c>) are extensions on it.</summary>
public interface ICacheProxyBuilder
{
    /// <summary>Gets the service collection CacheProxy is registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed class CacheProxyBuilder(IServiceCollection services) : ICacheProxyBuilder
{
    public IServiceCollection Services { get; } = services;
}
