using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>Where the Redis circuit stands: 0 closed (calls flow), 1 open (calls skipped), 2 half-open (one probe).</summary>
internal enum BreakerState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// <summary>
/// The Redis shared tier and invalidation bus. Every call runs through a circuit breaker around a soft timeout:
/// a slow, paused or dead Redis costs a request at most <see cref="RedisOptions.OperationTimeout"/>, and once the
/// circuit opens, nothing at all until a probe succeeds. Failures never escape: a read is a miss, a write is
/// dropped, and both are counted.
/// </summary>
internal sealed class RedisCacheStore : ISharedCacheStore, IInvalidationBus, ICacheFillCoordinator
{
    // Deletes the claim only if it is still ours: a claim that outlived its lease may belong to another instance now.
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    private const string Tier = "redis";

    private readonly RedisConnection _connection;
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheStoreTelemetry _telemetry;
    private readonly ResiliencePipeline _pipeline;
    private readonly RedisChannel _channel;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _releaseWaiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _connected = new();
    private readonly InvalidationSubscribers _subscribers;
    private int _breakerState;

    public RedisCacheStore(RedisConnection connection, IOptions<RedisOptions> options, TimeProvider time, ILoggerFactory loggers,
        CacheStoreTelemetry telemetry)
    {
        _connection = connection;
        _options = options.Value;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _telemetry = telemetry;
        _channel = RedisChannel.Literal(_options.KeyPrefix + "invalidate");
        _subscribers = new InvalidationSubscribers(_logger);
        telemetry.Meter.CreateObservableGauge("cacheproxy.redis.breaker_state", () => Volatile.Read(ref _breakerState), "{state}",
            "Redis circuit breaker: 0 closed, 1 open, 2 half-open.");
        telemetry.Meter.CreateObservableGauge("cacheproxy.redis.connected", () => _connection.Multiplexer?.IsConnected == true ? 1 : 0, "{state}",
            "1 while the Redis connection is up.");
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = _options.BreakerFailureRatio,
                SamplingDuration = _options.BreakerSamplingDuration,
                MinimumThroughput = _options.BreakerMinimumThroughput,
                BreakDuration = _options.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not BrokenCircuitException),
                OnOpened = args =>
                {
                    Volatile.Write(ref _breakerState, (int)BreakerState.Open);
                    Log.BreakerOpened(_logger, args.BreakDuration, Describe(args.Outcome.Exception));
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    Volatile.Write(ref _breakerState, (int)BreakerState.HalfOpen);
                    return default;
                },
                OnClosed = _ =>
                {
                    Volatile.Write(ref _breakerState, (int)BreakerState.Closed);
                    Log.BreakerClosed(_logger);
                    return default;
                },
            })
            .AddTimeout(_options.OperationTimeout)
            .Build();
        connection.WhenConnected(OnConnected);
    }

    public string TierName => Tier;

    internal BreakerState Breaker => (BreakerState)Volatile.Read(ref _breakerState);

    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        (await GetWithTimeToLiveAsync(key, cancellationToken))?.Entry;

    public async ValueTask<SharedCacheHit?> GetWithTimeToLiveAsync(string key, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return null;
        }
        var entryKey = RedisEntryFormat.EntryKey(_options.KeyPrefix, key);
        return await RunAsync<SharedCacheHit?>("get", async token =>
        {
            var db = redis.GetDatabase();
            var value = await db.StringGetAsync(entryKey).WaitAsync(token);
            if (value.IsNull)
            {
                return null; // a plain miss (RedisValue.Null converts to empty memory, not to null: test IsNull first)
            }
            var parsed = RedisEntryFormat.Read(key, (ReadOnlyMemory<byte>)value);
            if (parsed is null)
            {
                Log.ValueUnreadable(_logger, entryKey);
                return null;
            }
            var entry = parsed.Entry;
            if (parsed.ChunkCount > 0)
            {
                // Chunked bodies are streamed on demand (RedisChunkedBody), not read here. One EXISTS over the chunks
                // (one hash slot, so fine on a cluster) makes a lost chunk a miss rather than a broken response.
                var chunkKeys = new RedisKey[parsed.ChunkCount];
                for (var i = 0; i < chunkKeys.Length; i++)
                {
                    chunkKeys[i] = RedisEntryFormat.ChunkKey(entryKey, i);
                }
                if (await db.KeyExistsAsync(chunkKeys).WaitAsync(token) != chunkKeys.Length)
                {
                    return null;
                }
                entry = WithBody(entry, new RedisChunkedBody(this, redis, entryKey, parsed.BodyLength, parsed.ChunkCount, parsed.ChunkSize));
            }
            var ttl = parsed.ExpiresAt - _time.GetUtcNow();
            return ttl > TimeSpan.Zero ? new SharedCacheHit(entry, ttl) : null;
        }, fallback: null, cancellationToken);
    }

    public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis || timeToLive <= TimeSpan.Zero)
        {
            return default;
        }
        var entryKey = RedisEntryFormat.EntryKey(_options.KeyPrefix, key);
        var body = entry.Body;
        if (entry.StreamedBody is { } streamed)
        {
            // An entry refreshed by a 304 whose body still lives in our chunks: rewrite the value, keep the chunks.
            return streamed is RedisChunkedBody chunked && chunked.EntryKey == entryKey
                ? new ValueTask(RefreshAsync(redis, key, entryKey, entry, chunked, timeToLive, cancellationToken))
                : default; // a body streamed from elsewhere is not copied into Redis
        }
        var chunkSize = _options.ChunkSize;
        var chunkCount = body.Length > chunkSize ? (body.Length + chunkSize - 1) / chunkSize : 0;
        var value = RedisEntryFormat.Write(key, entry, _time.GetUtcNow() + timeToLive, chunkCount, chunkSize);
        return new ValueTask(RunAsync("set", async token =>
        {
            var db = redis.GetDatabase();
            if (chunkCount == 0)
            {
                await db.StringSetAsync(entryKey, value, timeToLive).WaitAsync(token);
                return true;
            }
            // Entry and chunks in one MULTI/EXEC (one hash slot): readers never see a half-written body.
            var transaction = db.CreateTransaction();
            var writes = new List<Task>(chunkCount + 1);
            for (var i = 0; i < chunkCount; i++)
            {
                var start = i * _options.ChunkSize;
                var chunk = body.Slice(start, Math.Min(_options.ChunkSize, body.Length - start));
                writes.Add(transaction.StringSetAsync(RedisEntryFormat.ChunkKey(entryKey, i), chunk, timeToLive));
            }
            writes.Add(transaction.StringSetAsync(entryKey, value, timeToLive));
            await transaction.ExecuteAsync().WaitAsync(token);
            return true;
        }, fallback: false, cancellationToken));
    }

    private Task<bool> RefreshAsync(IConnectionMultiplexer redis, string key, string entryKey, CacheEntry entry, RedisChunkedBody chunked,
        TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var value = RedisEntryFormat.Write(key, entry, _time.GetUtcNow() + timeToLive, chunked.ChunkCount, chunked.ChunkSize);
        return RunAsync("set", async token =>
        {
            var transaction = redis.GetDatabase().CreateTransaction();
            var writes = new List<Task>(chunked.ChunkCount + 1);
            for (var i = 0; i < chunked.ChunkCount; i++)
            {
                writes.Add(transaction.KeyExpireAsync(RedisEntryFormat.ChunkKey(entryKey, i), timeToLive));
            }
            writes.Add(transaction.StringSetAsync(entryKey, value, timeToLive));
            await transaction.ExecuteAsync().WaitAsync(token);
            return true;
        }, fallback: false, cancellationToken);
    }

    /// <summary>Reads one chunk of a streamed body through the same soft timeout and circuit; null on failure.</summary>
    internal Task<byte[]?> ReadChunkAsync(IConnectionMultiplexer redis, string chunkKey) =>
        RunAsync<byte[]?>("get", async token => (byte[]?)await redis.GetDatabase().StringGetAsync(chunkKey).WaitAsync(token),
            fallback: null, CancellationToken.None);

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return default;
        }
        // Chunks of a removed entry are unreachable without it and expire with their own time to live.
        var entryKey = RedisEntryFormat.EntryKey(_options.KeyPrefix, key);
        return new ValueTask(RunAsync("remove", async token => await redis.GetDatabase().KeyDeleteAsync(entryKey).WaitAsync(token),
            fallback: false, cancellationToken));
    }

    public ValueTask PublishAsync(InvalidationMessage message, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return default;
        }
        return new ValueTask(PublishAsync(redis, _subscribers.Encode(message), cancellationToken));
    }

    public void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken) =>
        _subscribers.Add(handler, cancellationToken);

    private Task<long> PublishAsync(IConnectionMultiplexer redis, string wire, CancellationToken cancellationToken) =>
        RunAsync("publish", async token => await redis.GetSubscriber().PublishAsync(_channel, wire).WaitAsync(token), fallback: 0L, cancellationToken);

    public async ValueTask<IAsyncDisposable?> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return NoClaim.Instance; // no coordination without Redis: every instance may fetch
        }
        var claimKey = RedisEntryFormat.ClaimKey(_options.KeyPrefix, key);
        var token = Guid.NewGuid().ToString("N");
        // If Redis cannot answer, fetching is allowed (fallback true): a dead Redis must not stall misses.
        var claimed = await RunAsync("claim", async t => await redis.GetDatabase().StringSetAsync(claimKey, token, lease, When.NotExists).WaitAsync(t),
            fallback: true, cancellationToken);
        return claimed ? new Claim(this, redis, key, claimKey, token) : null;
    }

    public async ValueTask<bool> WaitForReleaseAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return true;
        }
        var waiter = _releaseWaiters.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        // The claim may have been released between our failed claim and registering the waiter: look once.
        var stillClaimed = await RunAsync("claim", async t => await redis.GetDatabase().KeyExistsAsync(RedisEntryFormat.ClaimKey(_options.KeyPrefix, key)).WaitAsync(t),
            fallback: false, cancellationToken);
        if (!stillClaimed)
        {
            _releaseWaiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, waiter));
            return true;
        }
        try
        {
            await waiter.Task.WaitAsync(timeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            _releaseWaiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, waiter));
            return false;
        }
    }

    private async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> call, T fallback, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(static async (state, token) => await state(token), call, cancellationToken);
            _telemetry.RecordOperation(Tier, operation, _time.GetElapsedTime(started), failed: false);
            return result;
        }
        catch (BrokenCircuitException)
        {
            return fallback; // the circuit is open: Redis is skipped without cost, and was counted when it opened
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or RedisException or TimeoutException or ObjectDisposedException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _telemetry.RecordOperation(Tier, operation, _time.GetElapsedTime(started), failed: true);
            Log.OperationFailed(_logger, operation, Describe(ex));
            return fallback;
        }
    }

    private void OnConnected(IConnectionMultiplexer redis)
    {
        redis.ConnectionFailed += (_, e) => Transition(e, up: false);
        redis.ConnectionRestored += (_, e) => Transition(e, up: true);
        _ = SubscribeAsync(redis);
    }

    /// <summary>
    /// Subscribes to the invalidation channel, retrying until it works; never blocks or throws into the caller
    /// (a synchronous SUBSCRIBE here once timed out under thread-pool pressure and failed a request).
    /// StackExchange.Redis re-subscribes by itself after a reconnect. Our own publishes come back too and are skipped
    /// (<see cref="InvalidationSubscribers"/>): this instance's memory tier holds what it just wrote.
    /// </summary>
    private async Task SubscribeAsync(IConnectionMultiplexer redis)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var subscriber = redis.GetSubscriber();
                // One channel for invalidations and released claims, processed in order: a claim's holder writes
                // (invalidating other instances' copies) before it releases, so a waiter that looks again after the
                // release no longer finds its own outdated copy.
                var queue = await subscriber.SubscribeAsync(_channel);
                queue.OnMessage(message =>
                {
                    if (message.Message.HasValue && _subscribers.Receive(message.Message!) is { } released
                        && _releaseWaiters.TryRemove(released, out var waiter))
                    {
                        waiter.TrySetResult();
                    }
                });
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.OperationFailed(_logger, "subscribe", Describe(ex));
                _subscribers.MayHaveMissed(); // not listening yet: nothing held locally can be trusted
                await Task.Delay(delay, _time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (ObjectDisposedException)
            {
                return; // shutting down
            }
        }
    }

    /// <summary>Logs each connection's change of state once, and drops the memory tier when pub/sub was interrupted.</summary>
    private void Transition(ConnectionFailedEventArgs e, bool up)
    {
        var endpoint = e.EndPoint?.ToString() ?? "unknown";
        var name = $"{e.ConnectionType}@{endpoint}";
        if (_connected.TryGetValue(name, out var wasUp) && wasUp == up)
        {
            return;
        }
        _connected[name] = up;
        if (up)
        {
            Log.ConnectionRestored(_logger, e.ConnectionType.ToString(), endpoint);
        }
        else
        {
            Log.ConnectionFailed(_logger, e.ConnectionType.ToString(), endpoint, e.FailureType.ToString(), e.Exception);
        }
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            // Invalidations published while we were not listening are lost: nothing held locally can be trusted.
            _subscribers.MayHaveMissed();
        }
    }

    /// <summary>The claim of one fetch: released (if still ours) and announced to every instance when disposed.</summary>
    private sealed class Claim(RedisCacheStore store, IConnectionMultiplexer redis, string key, string claimKey, string token) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await store.RunAsync("release", async t => await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [claimKey], [token]).WaitAsync(t),
                fallback: RedisResult.Create(0), CancellationToken.None);
            await store.PublishAsync(redis, store._subscribers.EncodeRelease(key), CancellationToken.None);
        }
    }

    private sealed class NoClaim : IAsyncDisposable
    {
        public static readonly NoClaim Instance = new();

        public ValueTask DisposeAsync() => default;
    }

    private static CacheEntry WithBody(CacheEntry entry, IStreamedBody streamed) => new()
    {
        StatusCode = entry.StatusCode,
        Headers = entry.Headers,
        StreamedBody = streamed,
        RequestTime = entry.RequestTime,
        ResponseTime = entry.ResponseTime,
        Tags = entry.Tags,
        FreshnessOverride = entry.FreshnessOverride,
    };

    private static string Describe(Exception? ex) => ex switch
    {
        null => "unknown",
        TimeoutRejectedException => "soft timeout",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
