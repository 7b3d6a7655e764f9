using CacheProxy.Configuration;
using CacheProxy.Redis;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CacheProxy.Tests.Redis;

/// <summary>What <c>AddRedis()</c> registers and binds, and the connections it accepts.</summary>
public sealed class AddRedisTests
{
    [Fact]
    public void BindsTheRedisChildOfTheSectionAddCacheProxyWasGiven()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Edge:Cache:Redis:Configuration"] = "redis.internal:6379",
            ["Edge:Cache:Redis:KeyPrefix"] = "edge:",
            ["CacheProxy:Redis:KeyPrefix"] = "not-this:",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        services.AddCacheProxy(configuration.GetSection("Edge:Cache")).AddRedis(o => o.ChunkSize = 4096);
        var options = services.BuildServiceProvider().GetRequiredService<IOptions<RedisOptions>>().Value;

        Assert.Equal("redis.internal:6379", options.Configuration);
        Assert.Equal("edge:", options.KeyPrefix);
        Assert.Equal(4096, options.ChunkSize); // the code's changes after the binding
    }

    [Fact]
    public void CalledTwice_RegistersItsServicesOnce_AndAppliesBothChanges()
    {
        var services = new ServiceCollection().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        var builder = services.AddCacheProxy(o => { });

        builder.AddRedis(o => o.Configuration = "127.0.0.1:6379").AddRedis(o => o.KeyPrefix = "twice:");
        using var provider = services.BuildServiceProvider();

        Assert.Single(services, d => d.ServiceType == typeof(RedisConnection));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<RedisOptions>));
        Assert.Single(provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == "redis");
        var options = provider.GetRequiredService<IOptions<RedisOptions>>().Value;
        Assert.Equal(("127.0.0.1:6379", "twice:"), (options.Configuration, options.KeyPrefix));
    }

    [Fact]
    public async Task WithoutItsOwnConnection_UsesTheOneAddStackExchangeRedisCacheConfigured()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await RedisTierTests.OriginAsync();
        await using var gateway = await ProxyFixture.StartAsync(sharedOrigin: origin, systemClock: true, features: b =>
        {
            b.Services.AddStackExchangeRedisCache(o => o.Configuration = redis.Endpoint);
            b.AddRedis(o => o.KeyPrefix = "from-distributed-cache:");
        });
        await RedisTierTests.WaitForRedisAsync(gateway);

        await gateway.GetAsync("/shared-setting");
        await RedisTierTests.WaitForStoredAsync(gateway, 1);

        Assert.NotEmpty((await redis.CliAsync("--scan", "--pattern", "from-distributed-cache:*")).Trim());
    }
}
