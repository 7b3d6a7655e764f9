using System.Text.Json;
using CacheProxy.Cdn;
using CacheProxy.Configuration;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// The CDN outbox in Redis, shared by every instance: a forwarding accepted by one is delivered by whichever claims it
/// first (a lease of the delivery, so an instance that dies mid-delivery hands it on when the lease ends), and only
/// once every live instance has applied the purge — each instance says how far it has applied the invalidation log
/// (<see cref="RedisInvalidationBus.AppliedKey"/>), and a forwarding remembers where the log ended when it was added.
/// An instance that has not said so for <see cref="RedisOptions.MaxDisconnectedServing"/> (and a little) is not waited
/// for: it is gone, or it no longer serves what it holds without revalidating it. Keys share the invalidation log's
/// hash slot (<c>{ledger}</c>), so it works on Redis Cluster.
/// </summary>
internal sealed class RedisCdnPurgeOutbox : ICdnPurgeOutbox
{
    // KEYS: open, purges, providers, positions, order, log, then (due, state) per provider. ARGV: id, purge, providers, now, max.
    private const string AddScript = """
        if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[5]) then return 0 end
        local last = redis.call('xrevrange', KEYS[6], '+', '-', 'COUNT', 1)
        local pos = '0-0'
        if #last > 0 then pos = last[1][1] end
        redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
        redis.call('hset', KEYS[3], ARGV[1], ARGV[3])
        redis.call('hset', KEYS[4], ARGV[1], pos)
        redis.call('zadd', KEYS[5], ARGV[4], ARGV[1])
        redis.call('zadd', KEYS[1], ARGV[4], ARGV[1])
        for i = 7, #KEYS, 2 do
          redis.call('zadd', KEYS[i], ARGV[4], ARGV[1])
          redis.call('hset', KEYS[i + 1], ARGV[1], cjson.encode({n = tonumber(ARGV[4])}))
        end
        return 1
        """;

    // KEYS: due, state, purges, positions, applied. ARGV: now, lease, live since, claim token, forget before.
    // A due delivery is claimed once no live instance (one heard from since 'live since') has applied less of the log
    // than its purge's position; one held back notes how many instances it waits for ('w').
    private const string ClaimScript = """
        local function before(a, b)
          local am, as = string.match(a, '^(%d+)-(%d+)$')
          local bm, bs = string.match(b, '^(%d+)-(%d+)$')
          am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
          return am < bm or (am == bm and as < bs)
        end
        local live = {}
        local applied = redis.call('hgetall', KEYS[5])
        for i = 1, #applied, 2 do
          local id, beat = string.match(applied[i + 1], '^(%d+%-%d+)|(%d+)$')
          if beat then
            beat = tonumber(beat)
            if beat >= tonumber(ARGV[3]) then
              live[#live + 1] = id
            elseif beat < tonumber(ARGV[5]) then
              redis.call('hdel', KEYS[5], applied[i])
            end
          end
        end
        local held = false
        for _, id in ipairs(redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)) do
          local purge = redis.call('hget', KEYS[3], id)
          if not purge then
            redis.call('zrem', KEYS[1], id)
          else
            local pos = redis.call('hget', KEYS[4], id)
            local behind = 0
            if pos then
              for _, at in ipairs(live) do
                if before(at, pos) then behind = behind + 1 end
              end
            end
            local raw = redis.call('hget', KEYS[2], id)
            local st = {}
            if raw then st = cjson.decode(raw) end
            if behind == 0 then
              st.a = (st.a or 0) + 1
              st.c = ARGV[4]
              st.w = nil
              redis.call('hset', KEYS[2], id, cjson.encode(st))
              redis.call('zadd', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
              return {id, purge, st.r or '', st.a}
            else
              if st.w ~= behind then
                st.w = behind
                redis.call('hset', KEYS[2], id, cjson.encode(st))
              end
              held = true
            end
          end
        end
        if held then return 'held' end
        return false
        """;

    // KEYS: due, state, failed, open, then the state of every provider of the forwarding.
    // ARGV: id, claim, state, next, detail, remaining, now.
    private const string SettleScript = """
        local raw = redis.call('hget', KEYS[2], ARGV[1])
        if not raw then return 0 end
        local st = cjson.decode(raw)
        if st.c ~= ARGV[2] or st.s then return 0 end
        st.c = nil
        st.u = tonumber(ARGV[7])
        st.d = ARGV[5]
        if ARGV[3] == 'pending' then
          st.n = tonumber(ARGV[4])
          if ARGV[6] ~= '' then st.r = ARGV[6] end
          redis.call('zadd', KEYS[1], st.n, ARGV[1])
        else
          st.s = ARGV[3]
          st.n = nil
          st.r = nil
          redis.call('zrem', KEYS[1], ARGV[1])
          if ARGV[3] == 'failed' then redis.call('zadd', KEYS[3], ARGV[7], ARGV[1]) end
        end
        redis.call('hset', KEYS[2], ARGV[1], cjson.encode(st))
        local open = false
        for i = 5, #KEYS do
          local other = redis.call('hget', KEYS[i], ARGV[1])
          if other and not cjson.decode(other).s then open = true end
        end
        if not open then redis.call('zrem', KEYS[4], ARGV[1]) end
        return 1
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly RedisConnection _connection;
    private readonly RedisCalls _calls;
    private readonly RedisInvalidationBus _bus;
    private readonly IOptionsMonitor<CacheProxyOptions> _core;
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly string _prefix;
    private readonly RedisKey _open;
    private readonly RedisKey _purges;
    private readonly RedisKey _providers;
    private readonly RedisKey _positions;
    private readonly RedisKey _order;
    private readonly RedisKey _failed;
    private long _nextSweep;

    public RedisCdnPurgeOutbox(RedisConnection connection, RedisCalls calls, RedisInvalidationBus bus, IOptionsMonitor<CacheProxyOptions> core,
        IOptions<RedisOptions> options, TimeProvider time)
    {
        _connection = connection;
        _calls = calls;
        _bus = bus;
        _core = core;
        _options = options.Value;
        _time = time;
        _prefix = _options.KeyPrefix + "{ledger}:cdn:";
        _open = _prefix + "open";
        _purges = _prefix + "purges";
        _providers = _prefix + "providers";
        _positions = _prefix + "positions";
        _order = _prefix + "order";
        _failed = _prefix + "failed";
    }

    private RedisKey Due(string provider) => _prefix + "due:" + provider.ToLowerInvariant();

    private RedisKey State(string provider) => _prefix + "state:" + provider.ToLowerInvariant();

    public async ValueTask<bool> AddAsync(CdnPurge purge, IReadOnlyList<string> providers, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return false;
        }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await SweepAsync(redis, now);
        RedisKey[] keys = [_open, _purges, _providers, _positions, _order, _bus.LogKey, .. providers.SelectMany(p => new[] { Due(p), State(p) })];
        RedisValue[] args = [purge.Id, JsonSerializer.Serialize(purge, Json), string.Join(',', providers), now, _core.CurrentValue.Cdn.MaxPending];
        var added = await _calls.RunAsync<long?>("cdn-outbox", async token => (long)await redis.GetDatabase().ScriptEvaluateAsync(AddScript, keys, args).WaitAsync(token),
            fallback: null, cancellationToken);
        return added == 1;
    }

    /// <summary>
    /// Claims a due delivery. One held back for an instance that has not applied its purge yet is asked for again
    /// after 5, 10, 20 … ms, for about <see cref="RedisInvalidationBus.HeartbeatInterval"/> in all (instances say so
    /// at once when they apply a purge, so it is usually a matter of milliseconds), then left to the forwarder's next poll.
    /// </summary>
    public async ValueTask<CdnDelivery?> ClaimAsync(string provider, TimeSpan lease, CancellationToken cancellationToken)
    {
        var (wait, waited) = (TimeSpan.FromMilliseconds(5), TimeSpan.Zero);
        while (true)
        {
            var (delivery, held) = await ClaimOnceAsync(provider, lease, cancellationToken);
            if (delivery is not null || !held || waited >= RedisInvalidationBus.HeartbeatInterval)
            {
                return delivery;
            }
            await Task.Delay(wait, _time, cancellationToken);
            (wait, waited) = (wait * 2, waited + wait);
        }
    }

    private async Task<(CdnDelivery? Delivery, bool Held)> ClaimOnceAsync(string provider, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return (null, false);
        }
        var now = _time.GetUtcNow();
        var live = now - _options.MaxDisconnectedServing - (RedisInvalidationBus.HeartbeatInterval * 4);
        var forget = now - _core.CurrentValue.Purge.Retention;
        var token = Guid.NewGuid().ToString("N");
        var result = await _calls.RunAsync<RedisResult?>("cdn-outbox", async t => await redis.GetDatabase().ScriptEvaluateAsync(ClaimScript,
            [Due(provider), State(provider), _purges, _positions, _bus.AppliedKey],
            [now.ToUnixTimeMilliseconds(), (long)lease.TotalMilliseconds, live.ToUnixTimeMilliseconds(), token, forget.ToUnixTimeMilliseconds()]).WaitAsync(t),
            fallback: null, cancellationToken);
        if (result is null || result.IsNull)
        {
            return (null, false);
        }
        if (result.Resp2Type != ResultType.Array)
        {
            return (null, (string?)result == "held");
        }
        var parts = (RedisResult[])result!;
        var remaining = (string?)parts[2];
        var purge = JsonSerializer.Deserialize<CdnPurge>(string.IsNullOrEmpty(remaining) ? (string)parts[1]! : remaining, Json)!;
        return (new CdnDelivery(purge, provider, (int)parts[3], token), false);
    }

    public async ValueTask<bool> SettleAsync(CdnDelivery delivery, CdnDeliveryUpdate update, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return false;
        }
        var id = delivery.Purge.Id;
        var providers = await ProvidersAsync(redis, id, cancellationToken);
        if (providers is null)
        {
            return false;
        }
        RedisKey[] keys = [Due(delivery.Provider), State(delivery.Provider), _failed, _open, .. providers.Select(State)];
        RedisValue[] args =
        [
            id, delivery.Claim, update.State.ToString().ToLowerInvariant(), update.NextAttempt?.ToUnixTimeMilliseconds() ?? 0, update.Detail ?? string.Empty,
            update.Remaining is { } rest ? JsonSerializer.Serialize(rest, Json) : string.Empty, _time.GetUtcNow().ToUnixTimeMilliseconds(),
        ];
        return await _calls.RunAsync<long?>("cdn-outbox", async t => (long)await redis.GetDatabase().ScriptEvaluateAsync(SettleScript, keys, args).WaitAsync(t),
            fallback: null, cancellationToken) == 1;
    }

    public async ValueTask<CdnForwarding?> GetAsync(string id, CancellationToken cancellationToken) =>
        _connection.Multiplexer is { } redis ? await ReadAsync(redis, id, cancellationToken) : null;

    public async ValueTask<IReadOnlyList<CdnForwarding>> ListAsync(CdnDeliveryState state, int max, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is not { } redis)
        {
            return [];
        }
        var (key, take) = state switch
        {
            CdnDeliveryState.Pending => (_open, max),
            CdnDeliveryState.Failed => (_failed, max),
            _ => (_order, max * 5),
        };
        var ids = await _calls.RunAsync<RedisValue[]?>("cdn-outbox", async t => await redis.GetDatabase().SortedSetRangeByRankAsync(key, 0, take - 1, Order.Descending)
            .WaitAsync(t), fallback: null, cancellationToken);
        var list = new List<CdnForwarding>();
        foreach (var id in ids ?? [])
        {
            if (list.Count < max && await ReadAsync(redis, id!, cancellationToken) is { } forwarding && forwarding.Deliveries.Any(d => d.State == state))
            {
                list.Add(forwarding);
            }
        }
        return list;
    }

    private async Task<string[]?> ProvidersAsync(IConnectionMultiplexer redis, string id, CancellationToken cancellationToken)
    {
        var names = await _calls.RunAsync<RedisValue?>("cdn-outbox", async t => await redis.GetDatabase().HashGetAsync(_providers, id).WaitAsync(t),
            fallback: null, cancellationToken);
        return names is { HasValue: true } value ? ((string)value!).Split(',') : null;
    }

    private async Task<CdnForwarding?> ReadAsync(IConnectionMultiplexer redis, string id, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var head = await _calls.RunAsync<RedisValue[]?>("cdn-outbox", async t => await Task.WhenAll(db.HashGetAsync(_purges, id), db.HashGetAsync(_providers, id))
            .WaitAsync(t), fallback: null, cancellationToken);
        if (head is not [{ HasValue: true } json, { HasValue: true } names])
        {
            return null;
        }
        var providers = ((string)names!).Split(',');
        var states = await _calls.RunAsync<RedisValue[]?>("cdn-outbox", async t => await Task.WhenAll(providers.Select(p => db.HashGetAsync(State(p), id)))
            .WaitAsync(t), fallback: null, cancellationToken);
        if (states is null)
        {
            return null;
        }
        var deliveries = providers.Select((p, i) => Status(p, states[i])).ToList();
        return new CdnForwarding(JsonSerializer.Deserialize<CdnPurge>((string)json!, Json)!, deliveries);
    }

    private static CdnDeliveryStatus Status(string provider, RedisValue raw)
    {
        if (!raw.HasValue)
        {
            return new(provider, CdnDeliveryState.Pending, 0, null, null, null);
        }
        using var doc = JsonDocument.Parse((string)raw!);
        var root = doc.RootElement;
        var state = root.TryGetProperty("s", out var s) ? s.GetString() switch
        {
            "delivered" => CdnDeliveryState.Delivered,
            "failed" => CdnDeliveryState.Failed,
            _ => CdnDeliveryState.Pending,
        } : CdnDeliveryState.Pending;
        var detail = root.TryGetProperty("d", out var d) && d.GetString() is { Length: > 0 } text ? text : null;
        if (state == CdnDeliveryState.Pending && root.TryGetProperty("w", out var waiting) && waiting.ValueKind == JsonValueKind.Number)
        {
            detail = $"waiting for {waiting.GetInt32()} instance(s) to apply the purge first" + (detail is null ? string.Empty : $"; before: {detail}");
        }
        return new(provider, state, root.TryGetProperty("a", out var a) ? a.GetInt32() : 0, Time(root, "u"),
            state == CdnDeliveryState.Pending ? Time(root, "n") : null, detail);

        static DateTimeOffset? Time(JsonElement root, string name) =>
            root.TryGetProperty(name, out var ms) && ms.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms.GetDouble()) : null;
    }

    /// <summary>
    /// At most once a minute: forgets forwardings older than the purge retention or the give-up time (whichever is
    /// longer, and an hour more) — delivered, dead letters, and any left pending by a provider no longer configured.
    /// </summary>
    private async Task SweepAsync(IConnectionMultiplexer redis, long now)
    {
        if (now < Interlocked.Read(ref _nextSweep))
        {
            return;
        }
        Interlocked.Exchange(ref _nextSweep, now + 60_000);
        var core = _core.CurrentValue;
        var age = (core.Purge.Retention > core.Cdn.GiveUpAfter ? core.Purge.Retention : core.Cdn.GiveUpAfter) + TimeSpan.FromHours(1);
        var db = redis.GetDatabase();
        var old = await _calls.RunAsync<RedisValue[]?>("cdn-outbox", async t => await db.SortedSetRangeByScoreAsync(_order, double.NegativeInfinity,
            now - (long)age.TotalMilliseconds, take: 500).WaitAsync(t), fallback: null, CancellationToken.None);
        foreach (var id in old ?? [])
        {
            var providers = await ProvidersAsync(redis, id!, CancellationToken.None) ?? [];
            await _calls.RunAsync("cdn-outbox", async t =>
            {
                var batch = db.CreateBatch();
                var all = new List<Task>
                {
                    batch.HashDeleteAsync(_purges, id), batch.HashDeleteAsync(_providers, id), batch.HashDeleteAsync(_positions, id),
                    batch.SortedSetRemoveAsync(_order, id), batch.SortedSetRemoveAsync(_open, id), batch.SortedSetRemoveAsync(_failed, id),
                };
                foreach (var provider in providers)
                {
                    all.Add(batch.HashDeleteAsync(State(provider), id));
                    all.Add(batch.SortedSetRemoveAsync(Due(provider), id));
                }
                batch.Execute();
                await Task.WhenAll(all).WaitAsync(t);
                return true;
            }, fallback: false, CancellationToken.None);
        }
    }
}
