using Microsoft.Extensions.Logging;

namespace CacheProxy.Redis;

/// <summary>Log events of the Redis tier (category CacheProxy.Store; ids 1110-1129, listed in docs/observability.md).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1110, EventName = "RedisConnectionFailed", Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection to {Endpoint} lost ({FailureType}); serving from memory and origin")]
    public static partial void ConnectionFailed(ILogger logger, string connectionType, string endpoint, string failureType, Exception? exception);

    [LoggerMessage(EventId = 1111, EventName = "RedisConnectionRestored", Level = LogLevel.Information, Message = "Redis {ConnectionType} connection to {Endpoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string connectionType, string endpoint);

    [LoggerMessage(EventId = 1112, EventName = "RedisBreakerOpened", Level = LogLevel.Warning, Message = "Redis circuit opened for {BreakDuration} after failures (last: {Reason}); Redis calls are skipped until a probe succeeds")]
    public static partial void BreakerOpened(ILogger logger, TimeSpan breakDuration, string reason);

    [LoggerMessage(EventId = 1113, EventName = "RedisBreakerClosed", Level = LogLevel.Information, Message = "Redis circuit closed: Redis answers again")]
    public static partial void BreakerClosed(ILogger logger);

    [LoggerMessage(EventId = 1114, EventName = "RedisOperationFailed", Level = LogLevel.Debug, Message = "Redis {Operation} failed ({Reason}); treated as a miss or dropped")]
    public static partial void OperationFailed(ILogger logger, string operation, string reason);

    [LoggerMessage(EventId = 1115, EventName = "RedisValueUnreadable", Level = LogLevel.Warning, Message = "Redis value {RedisKey} is not a CacheProxy entry of this format or key; treated as a miss")]
    public static partial void ValueUnreadable(ILogger logger, string redisKey);

    [LoggerMessage(EventId = 1116, EventName = "RedisConfigurationMissing", Level = LogLevel.Error, Message = "CacheProxy:Redis:Configuration is empty and no IConnectionMultiplexer is registered")]
    public static partial void ConfigurationMissing(ILogger logger);
}
