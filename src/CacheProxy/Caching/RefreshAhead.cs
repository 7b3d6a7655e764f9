using CacheProxy.Configuration;
using CacheProxy.Diagnostics;

namespace CacheProxy.Caching;

/// <summary>
/// Refresh ahead of expiry (<see cref="RefreshAheadOptions"/>): a fresh hit in the last <c>Threshold</c> share of its
/// entry's freshness lifetime counts on the entry; the <c>MinHits</c>-th starts one <see cref="BackgroundRefresh"/>
/// of it — a conditional request that leads the key's fetch in the <see cref="FetchCollapser"/>, so there is one per
/// key here and, with a coordinator, across instances — within a per-second budget and a concurrency limit (a refresh
/// over budget is skipped: the entry is then revalidated as it expires, as without this). Counted on
/// <c>cacheproxy.refresh_ahead</c>; the memory tier counts a refreshed copy that left it unused as wasted.
/// </summary>
internal sealed class RefreshAhead(LastGoodOptions options, BackgroundRefresh refresh, ProxyPipeline pipeline, CacheLookup lookup,
    TimeProvider time, CacheProxyMetrics metrics)
{
    private readonly Lock _budgetLock = new();
    private CacheProxyOptions? _seen;
    private bool _anyRoute;
    private DateTimeOffset _windowStart;
    private int _startedInWindow;
    private int _running;

    /// <summary>Refreshes started and not yet ended.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>After a fresh hit was decided, before it is written: counts it, and may start a refresh of its entry.</summary>
    public void OnFreshHit(CacheContext context)
    {
        var current = options.Current;
        if (!ReferenceEquals(current, _seen))
        {
            _anyRoute = current.RefreshAhead.Enabled || current.Routes.Values.Any(r => r.RefreshAhead.Enabled == true);
            _seen = current;
        }
        if (!_anyRoute || context.Lookup.Entry is not { } stored)
        {
            return; // off: one reference compare per hit
        }
        if (!stored.ServedFresh)
        {
            stored.ServedFresh = true; // once: a refreshed copy that is served was not wasted
        }
        var global = current.RefreshAhead;
        var route = current.Routes.TryGetValue(context.RouteId, out var own) ? own.RefreshAhead : null;
        if (!(route?.Enabled ?? global.Enabled))
        {
            return;
        }
        ref readonly var candidate = ref context.Candidate;
        var lifetime = candidate.Lifetime;
        var left = lifetime - candidate.Age;
        if (lifetime <= TimeSpan.Zero || left > lifetime * (route?.Threshold ?? global.Threshold)
            || Volatile.Read(ref stored.RefreshedAhead) != 0 // started already: no more shared writes for this entry's hits
            || Interlocked.Increment(ref stored.NearExpiryHits) < (route?.MinHits ?? global.MinHits)
            || Interlocked.CompareExchange(ref stored.RefreshedAhead, 1, 0) != 0
            || pipeline.Next is not { } next)
        {
            return;
        }
        if (!TryTakeBudget(global, time.GetUtcNow()))
        {
            Volatile.Write(ref stored.RefreshedAhead, 0); // a later hit may find room
            metrics.RefreshAhead.Add(1, new KeyValuePair<string, object?>("outcome", "skipped"));
            return;
        }
        if (context.Lookup.FetchKey is null)
        {
            // The synchronous hit path builds no key string; the refresh needs both keys.
            if (lookup.KeysFor(context.HttpContext) is not { } keys)
            {
                Finished();
                return;
            }
            var decided = context.Candidate; // a lookup forgets the candidate: this one was decided fresh, and is served
            context.Key = keys.Primary;
            context.Looked(context.Lookup with { FetchKey = keys.Fetch });
            context.Consider(decided);
        }
        if (!refresh.TryStart(context, next, Finished))
        {
            Finished(); // another fetch of the key runs: it refreshes the entry
            return;
        }
        metrics.RefreshAhead.Add(1, new KeyValuePair<string, object?>("outcome", "started"));
    }

    private void Finished() => Interlocked.Decrement(ref _running);

    private bool TryTakeBudget(RefreshAheadOptions settings, DateTimeOffset now)
    {
        lock (_budgetLock)
        {
            if (Volatile.Read(ref _running) >= settings.MaxConcurrent)
            {
                return false;
            }
            // A fixed window of one second on the TimeProvider's clock (System.Threading.RateLimiting's limiters keep
            // their own clock, which tests cannot move).
            if (now - _windowStart >= TimeSpan.FromSeconds(1) || now < _windowStart)
            {
                _windowStart = now;
                _startedInWindow = 0;
            }
            if (_startedInWindow >= settings.MaxPerSecond)
            {
                return false;
            }
            _startedInWindow++;
            Interlocked.Increment(ref _running);
            return true;
        }
    }
}
