using CacheProxy.Configuration;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>Checks every Redis setting at startup and reports all problems at once (with every other setting's, event 1300).</summary>
internal sealed class RedisOptionsValidator(IServiceProvider services) : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var errors = new List<string>();
        var shared = services.GetService<IOptions<RedisCacheOptions>>()?.Value;
        if (string.IsNullOrWhiteSpace(options.Configuration) && services.GetService<IConnectionMultiplexer>() is null
            && shared?.ConnectionMultiplexerFactory is null && RedisConnection.Configuration(options, shared) is null)
        {
            errors.Add("CacheProxy:Redis:Configuration is required (a StackExchange.Redis connection string, e.g. 127.0.0.1:6379) unless an IConnectionMultiplexer is registered or AddStackExchangeRedisCache configured a connection; without Redis, leave AddRedis() out.");
        }
        else if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            try
            {
                _ = ConfigurationOptions.Parse(options.Configuration);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"CacheProxy:Redis:Configuration is not a valid connection string: {ex.Message}");
            }
        }
        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            errors.Add("CacheProxy:Redis:KeyPrefix must not be empty.");
        }
        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add("CacheProxy:Redis:ConnectTimeout must be positive.");
        }
        if (options.OperationTimeout <= TimeSpan.Zero || options.OperationTimeout > TimeSpan.FromDays(1))
        {
            errors.Add("CacheProxy:Redis:OperationTimeout must be positive.");
        }
        if (options.BreakerFailureRatio is <= 0 or > 1 || double.IsNaN(options.BreakerFailureRatio))
        {
            errors.Add($"CacheProxy:Redis:BreakerFailureRatio must be above 0 and at most 1 (was {options.BreakerFailureRatio}).");
        }
        if (options.BreakerMinimumThroughput < 2)
        {
            errors.Add($"CacheProxy:Redis:BreakerMinimumThroughput must be at least 2 (was {options.BreakerMinimumThroughput}).");
        }
        if (options.MaxDisconnectedServing < TimeSpan.FromSeconds(1))
        {
            errors.Add($"CacheProxy:Redis:MaxDisconnectedServing must be at least 1 second (was {options.MaxDisconnectedServing}).");
        }
        if (options.ClaimLease < TimeSpan.FromMilliseconds(500) || options.ClaimLease > TimeSpan.FromMinutes(1))
        {
            errors.Add($"CacheProxy:Redis:ClaimLease must be between 500 ms and 1 minute (was {options.ClaimLease}).");
        }
        if (options.InvalidationLogMaxLength is < 1000 or > 10_000_000)
        {
            errors.Add($"CacheProxy:Redis:InvalidationLogMaxLength must be between 1000 and 10000000 (was {options.InvalidationLogMaxLength}).");
        }
        if (options.BreakerSamplingDuration < TimeSpan.FromMilliseconds(500) || options.BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add("CacheProxy:Redis:BreakerSamplingDuration and BreakDuration must be at least 500 ms.");
        }
        if (options.ChunkSize < 1024)
        {
            errors.Add($"CacheProxy:Redis:ChunkSize must be at least 1024 bytes (was {options.ChunkSize}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
