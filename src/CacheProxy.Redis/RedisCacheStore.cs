using System.Collections.Concurrent;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// The Redis shared tier and the fill coordinator of cross-instance collapsing. Every call runs through
/// <see cref="RedisCalls"/> (soft timeout, circuit breaker): a read that fails is a miss, a write that fails is
/// dropped, and both are counted. Until the <see cref="RedisInvalidationBus"/> has read the invalidation log, reads
/// are misses: an entry purged while this instance was away must not be served before it knows.
/// </summary>
internal sealed class RedisCacheStore : ISharedCacheStore, ICacheFillCoordinator
{
    // Deletes the claim only if it is still ours: a claim that outlived its lease may belong to another instance now.
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
    private const string RenewScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

    private readonly RedisConnection _connection;
    private readonly RedisCalls _calls;
    private readonly RedisInvalidationBus _bus;
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _releaseWaiters = new(StringComparer.Ordinal);

    public RedisCacheStore(RedisConnection connection, RedisCalls calls, RedisInvalidationBus bus, IOptions<RedisOptions> options, TimeProvider time,
        ILoggerFactory loggers)
    {
        _connection = connection;
        _calls = calls;
        _bus = bus;
        _options = options.Value;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Store);
        bus.Released += key =>
        {
            if (_releaseWaiters.TryRemove(key, out var waiter))
            {
                waiter.TrySetResult();
            }
        };
    }

    public string TierName => RedisCalls.Tier;

    public async ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        (await GetWithTimeToLiveAsync(key, cancellationToken))?.Entry;

    public async ValueTask<SharedCacheHit?> GetWithTimeToLiveAsync(string key, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis || !_bus.CaughtUp)
        {
            return null;
        }
        var entryKey = RedisEntryFormat.EntryKey(_options.KeyPrefix, key);
        return await _calls.RunAsync<SharedCacheHit?>("get", async token =>
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
        return new ValueTask(_calls.RunAsync("set", async token =>
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
        return _calls.RunAsync("set", async token =>
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
        _calls.RunAsync<byte[]?>("get", async token => (byte[]?)await redis.GetDatabase().StringGetAsync(chunkKey).WaitAsync(token),
            fallback: null, CancellationToken.None);

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return default;
        }
        // Chunks of a removed entry are unreachable without it and expire with their own time to live.
        var entryKey = RedisEntryFormat.EntryKey(_options.KeyPrefix, key);
        return new ValueTask(_calls.RunAsync("remove", async token => await redis.GetDatabase().KeyDeleteAsync(entryKey).WaitAsync(token),
            fallback: false, cancellationToken));
    }

    public async ValueTask<IAsyncDisposable?> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return NoClaim.Instance; // no coordination without Redis: every instance may fetch
        }
        var claimKey = RedisEntryFormat.ClaimKey(_options.KeyPrefix, key);
        var token = Guid.NewGuid().ToString("N");
        // A short lease, renewed while the fetch runs (up to the whole lease asked for): if this instance dies
        // mid-fetch, the claim ends with the lease instead of stalling the key on every other instance.
        var shortLease = lease < _options.ClaimLease ? lease : _options.ClaimLease;
        // If Redis cannot answer, fetching is allowed (fallback true): a dead Redis must not stall misses.
        var claimed = await _calls.RunAsync("claim", async t => await redis.GetDatabase().StringSetAsync(claimKey, token, shortLease, When.NotExists).WaitAsync(t),
            fallback: true, cancellationToken);
        return claimed ? new Claim(this, redis, key, claimKey, token, shortLease, lease) : null;
    }

    public async ValueTask<bool> WaitForReleaseAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return true;
        }
        var waiter = _releaseWaiters.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        // The claim may have been released between our failed claim and registering the waiter: look once.
        var stillClaimed = await _calls.RunAsync("claim", async t => await redis.GetDatabase().KeyExistsAsync(RedisEntryFormat.ClaimKey(_options.KeyPrefix, key)).WaitAsync(t),
            fallback: false, cancellationToken);
        if (!stillClaimed)
        {
            _releaseWaiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, waiter));
            return true;
        }
        // Woken by the release notice; every lease without one, look whether the claim is still held (its holder may
        // have died: then its lease ran out and nobody will announce a release).
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                _releaseWaiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, waiter));
                return false;
            }
            try
            {
                await waiter.Task.WaitAsync(remaining < _options.ClaimLease ? remaining : _options.ClaimLease, _time, cancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                var held = await _calls.RunAsync("claim", async t => await redis.GetDatabase().KeyExistsAsync(RedisEntryFormat.ClaimKey(_options.KeyPrefix, key)).WaitAsync(t),
                    fallback: true, cancellationToken);
                if (!held)
                {
                    _releaseWaiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, waiter));
                    return true;
                }
            }
        }
    }

    /// <summary>
    /// The claim of one fetch: renewed every third of its lease while held (for at most the lease asked for),
    /// released (if still ours) and announced to every instance when disposed.
    /// </summary>
    private sealed class Claim : IAsyncDisposable
    {
        private readonly RedisCacheStore _store;
        private readonly IConnectionMultiplexer _redis;
        private readonly string _key;
        private readonly string _claimKey;
        private readonly string _token;
        private readonly CancellationTokenSource _held = new();
        private readonly Task _renewing;

        public Claim(RedisCacheStore store, IConnectionMultiplexer redis, string key, string claimKey, string token, TimeSpan lease, TimeSpan longest)
        {
            (_store, _redis, _key, _claimKey, _token) = (store, redis, key, claimKey, token);
            _renewing = RenewAsync(lease, longest);
        }

        private async Task RenewAsync(TimeSpan lease, TimeSpan longest)
        {
            var until = _store._time.GetUtcNow() + longest;
            using var timer = new PeriodicTimer(lease / 3, _store._time);
            try
            {
                while (await timer.WaitForNextTickAsync(_held.Token) && _store._time.GetUtcNow() + lease <= until)
                {
                    await _store._calls.RunAsync("claim", async t => await _redis.GetDatabase()
                        .ScriptEvaluateAsync(RenewScript, [_claimKey], [_token, (long)lease.TotalMilliseconds]).WaitAsync(t),
                        fallback: RedisResult.Create(0), _held.Token);
                }
            }
            catch (OperationCanceledException) when (_held.IsCancellationRequested)
            {
                // released
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _held.CancelAsync();
            await _renewing;
            _held.Dispose();
            await _store._calls.RunAsync("release", async t => await _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [_claimKey], [_token]).WaitAsync(t),
                fallback: RedisResult.Create(0), CancellationToken.None);
            await _store._bus.PublishReleaseAsync(_redis, _key);
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
}
