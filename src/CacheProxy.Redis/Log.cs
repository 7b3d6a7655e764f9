using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Redis;

/// <summary>Log events of the Redis tier (category CacheProxy.Store); ids and names from the one list, <see cref="EventIds"/>.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.RedisConnectionFailed, EventName = nameof(EventIds.RedisConnectionFailed), Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection to {Endpoint} lost ({FailureType}); serving from memory and origin")]
    public static partial void ConnectionFailed(ILogger logger, string connectionType, string endpoint, string failureType, Exception? exception);

    [LoggerMessage(EventId = EventIds.RedisConnectionRestored, EventName = nameof(EventIds.RedisConnectionRestored), Level = LogLevel.Information, Message = "Redis {ConnectionType} connection to {Endpoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string connectionType, string endpoint);

    [LoggerMessage(EventId = EventIds.RedisBreakerOpened, EventName = nameof(EventIds.RedisBreakerOpened), Level = LogLevel.Warning, Message = "Redis circuit opened for {BreakDuration} after failures (last: {Reason}); Redis calls are skipped until a probe succeeds")]
    public static partial void BreakerOpened(ILogger logger, TimeSpan breakDuration, string reason);

    [LoggerMessage(EventId = EventIds.RedisBreakerClosed, EventName = nameof(EventIds.RedisBreakerClosed), Level = LogLevel.Information, Message = "Redis circuit closed: Redis answers again")]
    public static partial void BreakerClosed(ILogger logger);

    [LoggerMessage(EventId = EventIds.RedisOperationFailed, EventName = nameof(EventIds.RedisOperationFailed), Level = LogLevel.Debug, Message = "Redis {Operation} failed ({Reason}); treated as a miss or dropped")]
    public static partial void OperationFailed(ILogger logger, string operation, string reason);

    [LoggerMessage(EventId = EventIds.RedisValueUnreadable, EventName = nameof(EventIds.RedisValueUnreadable), Level = LogLevel.Warning, Message = "Redis value {RedisKey} is not a CacheProxy entry of this format or key; treated as a miss")]
    public static partial void ValueUnreadable(ILogger logger, string redisKey);

    [LoggerMessage(EventId = EventIds.RedisConfigurationMissing, EventName = nameof(EventIds.RedisConfigurationMissing), Level = LogLevel.Error, Message = "CacheProxy:Redis:Configuration is empty and no IConnectionMultiplexer is registered")]
    public static partial void ConfigurationMissing(ILogger logger);

    [LoggerMessage(EventId = EventIds.RedisInvalidationHandlerFailed, EventName = nameof(EventIds.RedisInvalidationHandlerFailed), Level = LogLevel.Error, Message = "An invalidation handler failed; the memory tier may hold an entry another instance invalidated")]
    public static partial void InvalidationHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = EventIds.RedisInvalidationGap, EventName = nameof(EventIds.RedisInvalidationGap), Level = LogLevel.Warning, Message = "The invalidation log reaches back only to {Since}: what this instance missed before then cannot be replayed, so responses filled before it are revalidated once")]
    public static partial void InvalidationGap(ILogger logger, DateTimeOffset since);

    [LoggerMessage(EventId = EventIds.RedisInvalidationLogLost, EventName = nameof(EventIds.RedisInvalidationLogLost), Level = LogLevel.Warning, Message = "Redis lost invalidation log entries after {Survivor} (up to at least {Newest}: a restart from an older snapshot or a failover to a replica that lacked them); put back {PutBack} held here, all of them: {Whole} (if not, the log now counts as complete only from now, a gap for every instance)")]
    public static partial void InvalidationLogLost(ILogger logger, string survivor, string newest, int putBack, bool whole);

    [LoggerMessage(EventId = EventIds.RedisInvalidationsReplayed, EventName = nameof(EventIds.RedisInvalidationsReplayed), Level = LogLevel.Information, Message = "Read {Count} invalidations from the log")]
    public static partial void InvalidationsReplayed(ILogger logger, int count);
}
