using System.Text.Json;
using CacheProxy.Storage;
using CacheProxy.Configuration;
using CacheProxy.Management;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// The maintenance switch in Redis: one key (<c>{prefix}maintenance</c>, no expiry, so it survives restarts of every
/// instance) and a channel of the same name that announces each change. An instance reads the key when it connects
/// and again after every reconnect, so a change made while it was cut off reaches it too.
/// </summary>
internal sealed class RedisMaintenanceSwitchStore(RedisConnection connection, RedisCalls calls, IOptions<RedisOptions> options, ILoggerFactory loggers)
    : IMaintenanceSwitchStore
{
    private readonly RedisKey _key = options.Value.KeyPrefix + "maintenance";
    private readonly RedisChannel _channel = RedisChannel.Literal(options.Value.KeyPrefix + "maintenance");
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Store);

    public async ValueTask<MaintenanceSwitch?> ReadAsync(CancellationToken cancellationToken) =>
        connection.Multiplexer is { } redis ? await ReadAsync(redis, cancellationToken) : null;

    public async ValueTask<bool> WriteAsync(MaintenanceSwitch value, CancellationToken cancellationToken)
    {
        if (connection.Multiplexer is not { } redis)
        {
            return false;
        }
        var json = Encode(value);
        var kept = await calls.RunAsync("set", async token => await redis.GetDatabase().StringSetAsync(_key, json).WaitAsync(token), false, cancellationToken);
        return kept && await calls.RunAsync("publish", async token => await redis.GetSubscriber().PublishAsync(_channel, json).WaitAsync(token), -1L,
            cancellationToken) >= 0;
    }

    public void Subscribe(Action<MaintenanceSwitch> changed, CancellationToken cancellationToken) => connection.WhenConnected(redis =>
    {
        _ = SubscribeAsync(redis, changed, cancellationToken);
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive && !cancellationToken.IsCancellationRequested)
            {
                _ = ReadIntoAsync(redis, changed, cancellationToken);
            }
        };
    });

    private async Task SubscribeAsync(IConnectionMultiplexer redis, Action<MaintenanceSwitch> changed, CancellationToken cancellationToken)
    {
        try
        {
            var queue = await redis.GetSubscriber().SubscribeAsync(_channel);
            cancellationToken.Register(() => queue.Unsubscribe());
            queue.OnMessage(message =>
            {
                if (Decode(message.Message) is { } value)
                {
                    changed(value);
                }
            });
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.OperationFailed(_logger, "subscribe", RedisCalls.Describe(ex)); // the read after the next reconnect catches up
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        await ReadIntoAsync(redis, changed, cancellationToken);
    }

    private async Task ReadIntoAsync(IConnectionMultiplexer redis, Action<MaintenanceSwitch> changed, CancellationToken cancellationToken)
    {
        if (await ReadAsync(redis, cancellationToken) is { } value)
        {
            changed(value);
        }
    }

    private async Task<MaintenanceSwitch?> ReadAsync(IConnectionMultiplexer redis, CancellationToken cancellationToken) =>
        Decode(await calls.RunAsync("get", async token => await redis.GetDatabase().StringGetAsync(_key).WaitAsync(token), RedisValue.Null, cancellationToken));

    private static string Encode(MaintenanceSwitch value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("enabled", value.Enabled);
            json.WriteNumber("retryAfterSeconds", value.RetryAfter.TotalSeconds);
            json.WriteStartArray("allow");
            foreach (var network in value.AllowedNetworks)
            {
                json.WriteStringValue(network);
            }
            json.WriteEndArray();
            json.WriteString("changed", value.Changed);
            json.WriteString("changedBy", value.ChangedBy);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The switch a key or message holds; null for nothing or anything unreadable (another version, a hand edit).</summary>
    private MaintenanceSwitch? Decode(RedisValue stored)
    {
        if (stored.IsNullOrEmpty)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse((string)stored!);
            var root = document.RootElement;
            return new MaintenanceSwitch(root.GetProperty("enabled").GetBoolean(), TimeSpan.FromSeconds(root.GetProperty("retryAfterSeconds").GetDouble()),
                [.. root.GetProperty("allow").EnumerateArray().Select(n => n.GetString()!)], root.GetProperty("changed").GetDateTimeOffset(),
                root.GetProperty("changedBy").GetString()!);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            Log.ValueUnreadable(_logger, _key.ToString());
            return null;
        }
    }
}
