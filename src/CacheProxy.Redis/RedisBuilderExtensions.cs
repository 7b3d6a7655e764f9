using CacheProxy.Configuration;
using CacheProxy.Redis;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Redis shared tier.</summary>
public static class RedisBuilderExtensions
{
    /// <summary>
    /// Puts Redis behind the memory tier as the cache shared by every gateway instance, with pub/sub invalidation
    /// between them and request collapsing across them. Configured from the <c>Redis</c> child of the section given to
    /// <c>AddCacheProxy</c> (<c>CacheProxy:Redis</c> when it was configured in code), then by
    /// <paramref name="configure"/>. The connection: <see cref="RedisOptions.Configuration"/>, else an
    /// <c>IConnectionMultiplexer</c> in DI, else the one <c>AddStackExchangeRedisCache</c> configured; with none of
    /// them startup stops with an error naming <c>CacheProxy:Redis:Configuration</c>.
    /// </summary>
    /// <param name="builder">The CacheProxy builder.</param>
    /// <param name="configure">Changes applied after configuration binding.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddRedis(this ICacheProxyBuilder builder, Action<RedisOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<RedisOptions>();
        _ = builder.Configuration is { } section ? options.BindCacheProxySection(section.GetSection("Redis")) : options.BindConfiguration("CacheProxy:Redis");
        if (configure is not null)
        {
            options.Configure(configure);
        }
        if (services.Any(d => d.ServiceType == typeof(RedisConnection)))
        {
            return builder; // called again: its settings apply, its services are there once
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        services.TryAddSingleton<RedisConnection>();
        services.AddHostedService(sp => sp.GetRequiredService<RedisConnection>());
        services.TryAddSingleton<RedisMeter>();
        services.TryAddSingleton<RedisCalls>();
        services.TryAddSingleton<RedisInvalidationBus>();
        services.TryAddSingleton<RedisCacheStore>();
        services.TryAddSingleton<ISharedCacheStore>(sp => sp.GetRequiredService<RedisCacheStore>());
        services.TryAddSingleton<IInvalidationBus>(sp => sp.GetRequiredService<RedisInvalidationBus>());
        services.TryAddSingleton<ICacheFillCoordinator>(sp => sp.GetRequiredService<RedisCacheStore>());
        services.Replace(ServiceDescriptor.Singleton<CacheProxy.Storage.IMaintenanceSwitchStore, RedisMaintenanceSwitchStore>());
        services.Replace(ServiceDescriptor.Singleton<CacheProxy.Cdn.ICdnPurgeOutbox, RedisCdnPurgeOutbox>());
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", HealthStatus.Degraded, [CacheProxy.HealthTags.Ready, "redis"]);
        return builder;
    }
}
