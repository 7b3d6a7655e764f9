namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddCacheProxy</c>; optional features (<c>AddRedis</c>, <c>AddPrometheus</c>) are extensions on it.</summary>
public interface ICacheProxyBuilder
{
    /// <summary>Gets the service collection CacheProxy is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// Gets the configuration section <c>AddCacheProxy</c> was given, or null when it was configured in code; features
    /// bind their own sections under it (<c>AddRedis</c>: its <c>Redis</c> child).
    /// </summary>
    Microsoft.Extensions.Configuration.IConfiguration? Configuration => null;
}

internal sealed class CacheProxyBuilder(IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration? configuration = null) : ICacheProxyBuilder
{
    public IServiceCollection Services { get; } = services;

    public Microsoft.Extensions.Configuration.IConfiguration? Configuration { get; } = configuration;
}
