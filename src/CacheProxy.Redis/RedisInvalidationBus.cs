using System.Collections.Concurrent;
using CacheProxy.Storage;
using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// Invalidations between instances over Redis. A purge is appended to a log (a stream, trimmed to
/// <see cref="PurgeOptions.Retention"/> and <see cref="RedisOptions.InvalidationLogMaxLength"/>) and then published
/// on the channel; every instance applies what it hears, and when its subscription comes back (or it starts) it
/// reads the log from the last entry it applied, so a disconnect loses nothing. Only when the log no longer reaches
/// back that far — it was trimmed, or Redis lost it — does the instance mark stale (revalidate once) what was filled
/// before the log begins. While it cannot hear the channel, it keeps serving its memory tier for
/// <see cref="RedisOptions.MaxDisconnectedServing"/>, then marks what it holds stale, again each such period,
/// until it hears again. Replaced-entry notices and released claims go on the channel only. When Redis loses log
/// entries (a restart from an older snapshot, a failover to a replica that had not received them), an instance
/// that applied them notices after its next reconnect — the last entry it knew of is gone though the log was not
/// trimmed past it — and puts back what its <see cref="InvalidationJournal"/> holds, so instances that start later
/// still apply them; one that does not hold all of them moves the log's start ('since') instead, which every
/// instance treats as a gap.
/// </summary>
internal sealed class RedisInvalidationBus : IInvalidationBus, IDisposable
{
    // Appends to the log, trims it by age and length, and moves 'since' (the time from which the log is complete)
    // to its first remaining entry when anything was trimmed. Both keys share a hash slot ({ledger}).
    private const string AppendScript = """
        redis.call('set', KEYS[2], ARGV[4], 'NX')
        local id = redis.call('xadd', KEYS[1], '*', 'm', ARGV[1])
        local trimmed = redis.call('xtrim', KEYS[1], 'MINID', ARGV[2]) + redis.call('xtrim', KEYS[1], 'MAXLEN', ARGV[3])
        if trimmed > 0 then
          local first = redis.call('xrange', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
          local ms = tonumber(string.match(first, '^(%d+)'))
          if ms > tonumber(redis.call('get', KEYS[2])) then redis.call('set', KEYS[2], ms) end
        end
        return id
        """;

    private const string SinceScript = "redis.call('set', KEYS[1], ARGV[1], 'NX') return redis.call('get', KEYS[1])";

    // Moves 'since' forward (never back): the log is declared complete only from then.
    private const string RaiseSinceScript = """
        if tonumber(ARGV[1]) > tonumber(redis.call('get', KEYS[1]) or '0') then redis.call('set', KEYS[1], ARGV[1]) end
        return redis.call('get', KEYS[1])
        """;

    // Nil while the entry ARGV[1] is in the log, or was trimmed away (nothing before it is left, and 'since' moved
    // past it). Otherwise Redis lost it: the id of the last entry before it that survived ('0-0' when none did).
    private const string SurvivorScript = """
        if #redis.call('xrange', KEYS[1], ARGV[1], ARGV[1]) > 0 then return false end
        local before = redis.call('xrevrange', KEYS[1], ARGV[1], '-', 'COUNT', 1)
        if #before > 0 then return before[1][1] end
        if tonumber(redis.call('get', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return false end
        return '0-0'
        """;

    // Appends each message (ARGV[2..]) that the log does not hold after ARGV[1]; returns id, message pairs of those
    // appended. Atomic, so instances putting back the same entries at once append each once.
    private const string PutBackScript = """
        local held = {}
        for _, e in ipairs(redis.call('xrange', KEYS[1], '(' .. ARGV[1], '+')) do held[e[2][2]] = true end
        local added = {}
        for i = 2, #ARGV do
          if not held[ARGV[i]] then
            held[ARGV[i]] = true
            added[#added + 1] = redis.call('xadd', KEYS[1], '*', 'm', ARGV[i])
            added[#added + 1] = ARGV[i]
          end
        end
        return added
        """;

    private const int JournalCapacity = 100_000;

    /// <summary>How often an instance that hears every invalidation says how far it has applied the log (<see cref="AppliedKey"/>).</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(500);

    private const int ReplayPage = 500;

    private readonly RedisConnection _connection;
    private readonly RedisCalls _calls;
    private readonly RedisOptions _options;
    private readonly PurgeOptions _purge;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InvalidationSubscribers _subscribers;
    private readonly RedisChannel _channel;
    private readonly RedisKey _log;
    private readonly RedisKey _since;
    private readonly ConcurrentDictionary<string, bool> _connected = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _catchingUp = new(1, 1);
    private readonly InvalidationJournal _journal;
    private readonly Counter<long> _logLost;
    private LogId _lastId;
    private LogId _applied; // the newest log entry applied here, with every one before it
    private ITimer? _heartbeat;
    private int _beating; // 1 while a heartbeat made at once is in flight
    private int _beatAgain; // 1 when the log moved again meanwhile
    private LogId? _checkpoint; // the newest entry this instance knew of when a connection failed
    private long? _knownSince;
    private DateTimeOffset? _deaf = DateTimeOffset.MinValue; // not hearing the channel since (null: hearing it)
    private ITimer? _deafTimer;

    public RedisInvalidationBus(RedisConnection connection, RedisCalls calls, IOptions<RedisOptions> options, IOptions<CacheProxyOptions> core,
        TimeProvider time, ILoggerFactory loggers, RedisMeter meter)
    {
        _connection = connection;
        _calls = calls;
        _options = options.Value;
        _purge = core.Value.Purge;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _subscribers = new InvalidationSubscribers(_logger);
        _channel = RedisChannel.Literal(_options.KeyPrefix + "invalidate");
        _log = _options.KeyPrefix + "{ledger}:log";
        _since = _options.KeyPrefix + "{ledger}:since";
        AppliedKey = _options.KeyPrefix + "{ledger}:applied";
        _journal = new InvalidationJournal(Math.Min(_options.InvalidationLogMaxLength, JournalCapacity), _purge.Retention, time);
        _logLost = meter.Meter.CreateCounter<long>("cacheproxy.invalidation.log_lost", "{event}",
            "Times this instance found that Redis lost invalidation log entries it had applied (outcome put_back or gap).");
        meter.Meter.CreateObservableGauge("cacheproxy.invalidation.disconnected", () => DeafFor.TotalSeconds, "s",
            "How long this instance has not heard other instances' invalidations (0 while it does).");
        connection.WhenConnected(OnConnected);
    }

    /// <summary>
    /// Gets the hash where each instance that hears every invalidation says, every <see cref="HeartbeatInterval"/>,
    /// how far it has applied the log: field its instance id, value <c>{log id}|{unix ms}</c>. The CDN outbox
    /// forwards a purge once every live instance applied it.
    /// </summary>
    public RedisKey AppliedKey { get; }

    /// <summary>Gets the key of the invalidation log (a stream).</summary>
    public RedisKey LogKey => _log;

    /// <summary>Raised when another instance released a fill claim (the cache key).</summary>
    public event Action<string>? Released;

    /// <summary>Gets whether this instance has read the log at least once and hears the channel.</summary>
    public bool CaughtUp
    {
        get
        {
            lock (_lock)
            {
                return _knownSince is not null && _deaf is null;
            }
        }
    }

    /// <summary>Gets since when this instance has not heard the channel, or null while it does.</summary>
    public DateTimeOffset? DeafSince
    {
        get
        {
            lock (_lock)
            {
                return _deaf;
            }
        }
    }

    private TimeSpan DeafFor => DeafSince is { } since && since != DateTimeOffset.MinValue ? _time.GetUtcNow() - since : TimeSpan.Zero;

    public void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> onInvalidation, Func<EntryReplaced, CancellationToken, ValueTask> onReplaced,
        CancellationToken cancellationToken) =>
        _subscribers.Add(onInvalidation, onReplaced, cancellationToken);

    /// <summary>A replaced entry: on the channel only, never in the log (a copy made after it is not about it).</summary>
    public ValueTask<bool> PublishAsync(EntryReplaced notice, CancellationToken cancellationToken) =>
        _connection.Multiplexer is { } redis ? new(PublishAsync(redis, _subscribers.Encode(notice), cancellationToken)) : new(false);

    public async ValueTask<bool> PublishAsync(InvalidationMessage message, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return false;
        }
        var now = _time.GetUtcNow();
        var result = await _calls.RunAsync<RedisResult?>("log", async token => await redis.GetDatabase().ScriptEvaluateAsync(AppendScript, [_log, _since],
            [_subscribers.Encode(message), (now - _purge.Retention).ToUnixTimeMilliseconds(), _options.InvalidationLogMaxLength,
                now.ToUnixTimeMilliseconds()]).WaitAsync(token), fallback: null, cancellationToken);
        if (result is null)
        {
            return false;
        }
        var logId = (string)result!;
        _journal.Add(LogId.Parse(logId), _subscribers.Encode(message));
        return await PublishAsync(redis, _subscribers.Encode(message, logId), cancellationToken);
    }

    /// <summary>Announces a released fill claim to every instance.</summary>
    public Task<bool> PublishReleaseAsync(IConnectionMultiplexer redis, string key) =>
        PublishAsync(redis, _subscribers.EncodeRelease(key), CancellationToken.None);

    private async Task<bool> PublishAsync(IConnectionMultiplexer redis, string wire, CancellationToken cancellationToken) =>
        await _calls.RunAsync("publish", async token => await redis.GetSubscriber().PublishAsync(_channel, wire).WaitAsync(token), fallback: -1L,
            cancellationToken) >= 0;

    private void OnConnected(IConnectionMultiplexer redis)
    {
        lock (_lock)
        {
            _heartbeat ??= _time.CreateTimer(_ => _ = HeartbeatAsync(redis), null, HeartbeatInterval, HeartbeatInterval);
        }
        redis.ConnectionFailed += (_, e) => Transition(redis, e, up: false);
        redis.ConnectionRestored += (_, e) => Transition(redis, e, up: true);
        _ = SubscribeAsync(redis);
    }

    /// <summary>
    /// Subscribes to the channel, retrying until it works, then reads the log; never blocks or throws into the
    /// caller (a synchronous SUBSCRIBE here once timed out under thread-pool pressure and failed a request).
    /// StackExchange.Redis re-subscribes by itself after a reconnect. Messages are processed in order: a claim's
    /// holder writes (announcing it) before it releases, so a waiter that looks again no longer holds an old copy.
    /// </summary>
    private async Task SubscribeAsync(IConnectionMultiplexer redis)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(_channel);
                queue.OnMessage(message =>
                {
                    if (message.Message.HasValue && _subscribers.TryDecode(message.Message!, out var received))
                    {
                        Heard(received, message.Message!);
                    }
                });
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.OperationFailed(_logger, "subscribe", RedisCalls.Describe(ex));
            }
            catch (ObjectDisposedException)
            {
                return; // shutting down
            }
            await Task.Delay(delay, _time);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
        await CatchUpUntilDoneAsync(redis, hearing: true);
    }

    /// <param name="redis">The connection.</param>
    /// <param name="hearing">Whether the subscription is up: only then does this instance count as hearing again.</param>
    private async Task CatchUpUntilDoneAsync(IConnectionMultiplexer redis, bool hearing)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        try
        {
            while (!await CatchUpAsync(redis, hearing))
            {
                await Task.Delay(delay, _time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
        catch (ObjectDisposedException)
        {
            // shutting down
        }
    }

    /// <summary>
    /// A message from the channel. Invalidations are applied whatever else happens (applying one twice changes
    /// nothing); the log position moves only while this instance hears the channel without a gap, so that after a
    /// disconnect it reads the log from where it really stopped.
    /// </summary>
    private void Heard(Received received, string wire)
    {
        if (received.Released is { } key)
        {
            if (!received.Own)
            {
                Released?.Invoke(key);
            }
            return;
        }
        if (received.LogId is { } text && received.Message is not null && LogId.TryParse(text, out var logId))
        {
            _journal.Add(logId, InvalidationSubscribers.WithLogId(wire, null)!);
            lock (_lock)
            {
                if (_deaf is null && logId > _lastId)
                {
                    _lastId = logId;
                }
            }
        }
        if (!received.Own && received.Message is { } message)
        {
            _subscribers.Deliver(message);
        }
        else if (!received.Own && received.Replaced is { } replaced)
        {
            _subscribers.Deliver(replaced);
        }
        if (received.LogId is { } applied && received.Message is not null && LogId.TryParse(applied, out var appliedId))
        {
            var moved = false;
            lock (_lock)
            {
                if (_deaf is null && appliedId > _applied && appliedId <= _lastId)
                {
                    _applied = appliedId; // delivered above (an own purge was applied before it was published)
                    moved = true;
                }
            }
            if (moved && _connection.Multiplexer is { } redis)
            {
                _ = HeartbeatSoonAsync(redis); // at once: a forwarded purge waits for this instance to say it applied it
            }
        }
    }

    /// <summary>
    /// Reads what the log holds after the last entry applied here. When the log no longer reaches back that far, what
    /// was filled before it begins cannot be vouched for: a soft invalidation of everything at that time. First, when
    /// this instance has applied entries before, it checks that Redis still holds the newest of them (<see cref="CheckLogAsync"/>).
    /// </summary>
    private async Task<bool> CatchUpAsync(IConnectionMultiplexer redis, bool hearing)
    {
        await _catchingUp.WaitAsync();
        try
        {
            var db = redis.GetDatabase();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var since = await _calls.RunAsync<long?>("log", async token => (long)await db.ScriptEvaluateAsync(SinceScript, [_since], [now]).WaitAsync(token),
                fallback: null, CancellationToken.None);
            if (since is not { } complete)
            {
                return false;
            }
            LogId from;
            long? known;
            LogId? checkpoint;
            lock (_lock)
            {
                from = _lastId;
                known = _knownSince;
                checkpoint = _checkpoint ?? _journal.Newest;
            }
            var lost = false;
            if (checkpoint is { } newest)
            {
                var (ok, survivor, raisedSince) = await CheckLogAsync(redis, newest);
                if (!ok)
                {
                    return false;
                }
                if (survivor is { } last)
                {
                    lost = true;
                    from = last;
                    complete = raisedSince ?? complete;
                }
            }
            if (known != complete)
            {
                if (known is not null)
                {
                    Log.InvalidationGap(_logger, DateTimeOffset.FromUnixTimeMilliseconds(complete));
                }
                _subscribers.Deliver(new InvalidationMessage(InvalidationScope.All, string.Empty, Soft: true, DateTimeOffset.FromUnixTimeMilliseconds(complete)));
                from = LogId.Zero; // the whole log is news
                _journal.Reset();
            }
            var replayed = 0;
            while (true)
            {
                var page = await _calls.RunAsync<StreamEntry[]?>("log", async token => await db.StreamRangeAsync(_log, "(" + from, "+", ReplayPage).WaitAsync(token),
                    fallback: null, CancellationToken.None);
                if (page is null)
                {
                    return false;
                }
                foreach (var entry in page)
                {
                    var id = LogId.Parse(entry.Id!);
                    // This instance's own purges too: they may be from before a restart.
                    if (entry["m"] is { HasValue: true } wire && _subscribers.TryDecode(wire!, out var received) && received.Message is { } message)
                    {
                        _journal.Add(id, wire!);
                        _subscribers.Deliver(message);
                        replayed++;
                    }
                    from = id;
                }
                if (page.Length < ReplayPage)
                {
                    break;
                }
            }
            lock (_lock)
            {
                if (lost || from > _lastId)
                {
                    _lastId = from; // after a loss, where the log really ends now
                }
                if (lost || from > _applied)
                {
                    _applied = from; // every entry up to it was delivered above
                }
                _checkpoint = null;
                if (hearing)
                {
                    _deaf = null;
                    _deafTimer?.Dispose();
                    _deafTimer = null;
                }
                _knownSince = complete;
            }
            if (replayed > 0)
            {
                Log.InvalidationsReplayed(_logger, replayed);
            }
            if (hearing)
            {
                await HeartbeatAsync(redis); // caught up: one of the instances forwarded purges wait for, from now on
            }
            return true;
        }
        finally
        {
            _catchingUp.Release();
        }
    }

    /// <summary>
    /// Checks that the log still holds <paramref name="newest"/>, the newest entry this instance applied before a
    /// connection failed. When Redis lost it (and perhaps more before it), puts back every entry after the last
    /// survivor, when this instance's journal holds them all, and announces them; otherwise moves 'since' to now, so
    /// that every instance — this one, the others, and those that start later — treats it as a gap.
    /// </summary>
    /// <returns>Whether Redis answered; the last surviving entry when the log lost entries; the new 'since' when it moved.</returns>
    private async Task<(bool Ok, LogId? Survivor, long? RaisedSince)> CheckLogAsync(IConnectionMultiplexer redis, LogId newest)
    {
        var db = redis.GetDatabase();
        var answer = await _calls.RunAsync<RedisResult?>("log", async token => await db.ScriptEvaluateAsync(SurvivorScript, [_log, _since],
            [newest.ToString(), newest.Ms]).WaitAsync(token), fallback: null, CancellationToken.None);
        if (answer is null)
        {
            return (false, null, null);
        }
        if (answer.IsNull)
        {
            return (true, null, null);
        }
        var survivor = LogId.Parse((string)answer!);
        if (_journal.CompleteAfter > survivor)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var raised = await _calls.RunAsync<long?>("log", async token => (long)await db.ScriptEvaluateAsync(RaiseSinceScript, [_since], [now]).WaitAsync(token),
                fallback: null, CancellationToken.None);
            if (raised is null)
            {
                return (false, null, null);
            }
            Log.InvalidationLogLost(_logger, survivor.ToString(), newest.ToString(), 0, whole: false);
            _logLost.Add(1, new KeyValuePair<string, object?>("outcome", "gap"));
            return (true, survivor, raised);
        }
        var putBack = 0;
        foreach (var batch in _journal.After(survivor).Chunk(ReplayPage))
        {
            var added = await _calls.RunAsync<RedisResult[]?>("log", async token => (RedisResult[]?)await db.ScriptEvaluateAsync(PutBackScript, [_log],
                [survivor.ToString(), .. batch.Select(w => (RedisValue)w)]).WaitAsync(token), fallback: null, CancellationToken.None);
            if (added is null)
            {
                return (false, null, null);
            }
            for (var i = 0; i + 1 < added.Length; i += 2)
            {
                var (id, wire) = ((string)added[i]!, (string)added[i + 1]!);
                _journal.Add(LogId.Parse(id), wire);
                await PublishAsync(redis, InvalidationSubscribers.WithLogId(wire, id)!, CancellationToken.None);
                putBack++;
            }
        }
        Log.InvalidationLogLost(_logger, survivor.ToString(), newest.ToString(), putBack, whole: true);
        _logLost.Add(1, new KeyValuePair<string, object?>("outcome", "put_back"));
        return (true, survivor, null);
    }

    /// <summary>
    /// Logs each connection's change of state once. Any lost connection notes the newest log entry applied here (the
    /// checkpoint checked when it is back); the subscription's loss starts the disconnected bound. Any restored
    /// connection reads the log: what was missed, and whether Redis came back without entries it had.
    /// </summary>
    private void Transition(IConnectionMultiplexer redis, ConnectionFailedEventArgs e, bool up)
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
        var subscription = e.ConnectionType == ConnectionType.Subscription;
        if (up)
        {
            _ = CatchUpUntilDoneAsync(redis, hearing: subscription); // StackExchange.Redis subscribed again by itself
            return;
        }
        lock (_lock)
        {
            _checkpoint ??= _journal.Newest;
        }
        if (subscription)
        {
            Deaf();
        }
    }

    private void Deaf()
    {
        lock (_lock)
        {
            if (_deaf is not null && _deaf != DateTimeOffset.MinValue)
            {
                return;
            }
            _deaf = _time.GetUtcNow();
            var bound = _options.MaxDisconnectedServing;
            _deafTimer = _time.CreateTimer(_ => StopTrusting(), null, bound, bound);
        }
    }

    /// <summary>
    /// A heartbeat now, one at a time: during a burst of purges the one in flight is followed by one more, not by one
    /// per purge (a change it misses goes with the next periodic heartbeat).
    /// </summary>
    private async Task HeartbeatSoonAsync(IConnectionMultiplexer redis)
    {
        if (Interlocked.CompareExchange(ref _beating, 1, 0) != 0)
        {
            Volatile.Write(ref _beatAgain, 1);
            return;
        }
        try
        {
            do
            {
                Volatile.Write(ref _beatAgain, 0);
                await HeartbeatAsync(redis);
            }
            while (Volatile.Read(ref _beatAgain) == 1);
        }
        finally
        {
            Volatile.Write(ref _beating, 0);
        }
    }

    /// <summary>Says how far this instance has applied the log — only while it hears every invalidation.</summary>
    private async Task HeartbeatAsync(IConnectionMultiplexer redis)
    {
        LogId applied;
        lock (_lock)
        {
            if (_knownSince is null || _deaf is not null)
            {
                return;
            }
            applied = _applied;
        }
        var value = $"{applied}|{_time.GetUtcNow().ToUnixTimeMilliseconds()}";
        await _calls.RunAsync("heartbeat", async token => await redis.GetDatabase().HashSetAsync(AppliedKey, _subscribers.Instance, value).WaitAsync(token),
            fallback: false, CancellationToken.None);
    }

    /// <summary>Deaf for longer than the bound: what the memory tier holds now is revalidated before it is served.</summary>
    private void StopTrusting() =>
        _subscribers.Deliver(new InvalidationMessage(InvalidationScope.All, string.Empty, Soft: true, _time.GetUtcNow()));

    public void Dispose()
    {
        lock (_lock)
        {
            _deafTimer?.Dispose();
            _heartbeat?.Dispose();
        }
        try
        {
            // Stopped: no longer one of the instances a forwarded purge waits for.
            _connection.Multiplexer?.GetDatabase().HashDelete(AppliedKey, _subscribers.Instance, CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // its heartbeat ages out instead
        }
        _catchingUp.Dispose();
    }
}
