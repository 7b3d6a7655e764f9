using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Hosting;

/// <summary>Returned by <c>AddCacheProxy</c>; optional features (Redis, Prometheus) are extensions on it.</summary>
public interface ICacheProxyBuilder
{
    /// <summary>Gets the service collection CacheProxy is registered in.</summary>
    IServiceCollection Services { get; }
}

internal sealed class CacheProxyBuilder(IServiceCollection services) : ICacheProxyBuilder
{
    public IServiceCollection Services { get; } = services;
}
