using System.Collections.Concurrent;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// Varnish's hit-for-pass: keys whose last response said it may not be shared (<see cref="StorageRules.IsTheResponses"/>),
/// remembered for <see cref="CacheProxyOptions.HitForPassTtl"/>. A request for such a key that finds nothing stored
/// goes straight upstream (<see cref="PassThrough"/>, <c>fwd=bypass; detail=hit-for-pass</c>): it does not wait
/// behind another request for the key as if the next response might be shareable, and its response is not captured.
/// A mark ends when its time is up, when a purge covers it — by URL, prefix, tag (the response's own) or everything,
/// here or on another instance (the <see cref="InvalidationLedger"/> decides, as for a stored response) — or when a
/// response is stored for its key. A server error never marks (a failing origin keeps its requests collapsed), nor
/// does a response to a request with credentials (Authorization, Cookie, <see cref="CacheProxyOptions.CredentialHeaders"/>).
/// At most <see cref="Capacity"/> keys are held; past it a new key is not marked (its requests collapse as before).
/// </summary>
internal sealed class HitForPass
{
    public const int Capacity = 16_384;

    private readonly ConcurrentDictionary<string, Pass> _marks = new(StringComparer.Ordinal);
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;
    private readonly InvalidationLedger _ledger;
    private readonly CacheProxyMetrics _metrics;
    private readonly ILogger _logger;
    private int _count;
    private long _pruned;

    public HitForPass(LastGoodOptions options, TimeProvider time, InvalidationLedger ledger, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _time = time;
        _ledger = ledger;
        _metrics = metrics;
        _logger = loggers.CreateLogger(LogCategories.Cache);
        _metrics.Meter.CreateObservableGauge("cacheproxy.hit_for_pass.keys", () => Volatile.Read(ref _count), "{key}",
            "Keys marked hit-for-pass (some perhaps past their time, until looked at or pruned).");
    }

    /// <summary>Whether the request of <paramref name="context"/>, which found nothing stored, is passed upstream.</summary>
    public bool Passes(CacheContext context)
    {
        if (Volatile.Read(ref _count) == 0 || context.Lookup.FetchKey is not { } key || !_marks.TryGetValue(key, out var mark))
        {
            return false;
        }
        if (_time.GetTimestamp() < mark.Until
            && _ledger.Check(mark.PrimaryKey, mark.Filled, mark.Tags, filledHere: true, out _) == Verdict.Valid)
        {
            _metrics.HitForPass.Add(1, new KeyValuePair<string, object?>("outcome", "passed"));
            return true;
        }
        Remove(key, mark);
        return false;
    }

    /// <summary>
    /// Whether a response for <paramref name="context"/> refused for a reason of its own (<see cref="StorageRules.IsTheResponses"/>,
    /// or its size) marks the key: not when turned off, not for a server error (<paramref name="status"/>), and not when the
    /// request carried credentials (a private answer to one user says nothing of the others').
    /// </summary>
    public bool Marks(CacheContext context, int status)
    {
        var current = _options.Current;
        return current.HitForPassTtl > TimeSpan.Zero && status < 500 && context.Lookup.FetchKey is not null && context.Key is not null
            && !StorageRules.CarriesCredentials(context.HttpContext.Request.Headers, current.CredentialHeaders, context.CookiesKeyed);
    }

    /// <summary>Marks the key of <paramref name="context"/> (<see cref="Marks"/>) for <paramref name="refusal"/>, with the tags the response would have been stored with.</summary>
    public void Mark(CacheContext context, CacheExchange exchange, string refusal, IReadOnlyList<string> tags)
    {
        var ttl = _options.Current.HitForPassTtl;
        var key = context.Lookup.FetchKey!;
        var now = _time.GetTimestamp();
        if (Volatile.Read(ref _count) >= Capacity && !PruneFull(now))
        {
            _metrics.HitForPass.Add(1, new KeyValuePair<string, object?>("outcome", "full"));
            return;
        }
        var mark = new Pass(now + (long)(ttl.TotalSeconds * _time.TimestampFrequency), exchange.RequestTime.UtcTicks, context.Key!, tags);
        while (_marks.TryGetValue(key, out var held) ? !_marks.TryUpdate(key, mark, held) : !TryAdd(key, mark))
        {
            // raced with another mark or removal of the key: again (a later refusal starts the time again)
        }
        _metrics.HitForPass.Add(1, new KeyValuePair<string, object?>("outcome", "marked"));
        Log.HitForPassMarked(_logger, new KeyHash(key), ttl, refusal);
    }

    /// <summary>A response was stored for the key of <paramref name="context"/>: its requests are the cache's again.</summary>
    public void End(CacheContext context)
    {
        if (Volatile.Read(ref _count) > 0 && context.Lookup.FetchKey is { } key && _marks.TryGetValue(key, out var mark))
        {
            Remove(key, mark);
        }
    }

    private bool TryAdd(string key, Pass mark)
    {
        if (!_marks.TryAdd(key, mark))
        {
            return false;
        }
        Interlocked.Increment(ref _count);
        return true;
    }

    private void Remove(string key, Pass mark)
    {
        if (_marks.TryRemove(new KeyValuePair<string, Pass>(key, mark)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>At the bound: drops the marks past their time, at most once a second; whether there is room now.</summary>
    private bool PruneFull(long now)
    {
        var last = Volatile.Read(ref _pruned);
        if (now - last >= _time.TimestampFrequency && Interlocked.CompareExchange(ref _pruned, now, last) == last)
        {
            foreach (var (key, mark) in _marks)
            {
                if (mark.Until <= now)
                {
                    Remove(key, mark);
                }
            }
        }
        return Volatile.Read(ref _count) < Capacity;
    }

    /// <param name="Until">When it ends (<see cref="TimeProvider.GetTimestamp"/>).</param>
    /// <param name="Filled">When the fetch that marked it began (UTC ticks): purges after it end the mark.</param>
    /// <param name="PrimaryKey">The URL's key, as the ledger knows purges by.</param>
    /// <param name="Tags">The tags the response would have been stored with.</param>
    private sealed record Pass(long Until, long Filled, string PrimaryKey, IReadOnlyList<string> Tags);
}
