using System.Collections.Concurrent;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// Step (5) of <see cref="CacheEngine"/>: one upstream fetch per key at a time — for a miss, for the revalidation of
/// a stale response and for a background refresh alike. In this instance the first request for a key leads a flight
/// and the others follow it: they wait (bounded by <see cref="CacheProxyOptions.CollapseTimeout"/>), look again, and
/// serve what it stored — or the stale response, when the fetch failed and stale serving is allowed — before going
/// upstream themselves. Across instances the leader also claims the key through the
/// <see cref="ICacheFillCoordinator"/> (CacheProxy.Redis); a leader that finds it claimed waits for the other instance.
/// </summary>
internal sealed class FetchCollapser(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers,
    ReuseLookup lookup, StoredResponses served, UpstreamFetch upstream, ICacheFillCoordinator? coordinator = null)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<FetchOutcome>> _flights = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// Takes the request upstream, as the one fetch of its key or after waiting for it. Not async itself: a request
    /// that leads (most misses) or goes on its own costs no frame here.
    /// </summary>
    public Task FetchAsync(CacheContext context, RequestDelegate next, string reason)
    {
        Log.CacheMiss(_logger, reason, context.RouteId, new KeyHash(context.Key!));
        // Requests that may not use what another fetch stores go on their own (RFC 9111 §5.2.1.4, §5.2.1.5).
        if (!context.IsStorableMethod || context.RequestCacheControl.NoStore || context.RequestNoCache
            || !context.AllowCacheLookup)
        {
            return upstream.ForwardAsync(context, next, reason);
        }
        var key = context.Lookup.FetchKey!;
        return TryLead(key, out var flight) ? LeadAsync(context, next, reason, key, flight) : FollowThenFetchAsync(context, next, reason, key, flight);
    }

    /// <summary>Waits for the key's flight (<paramref name="flight"/>), then serves what it stored or goes upstream.</summary>
    private async Task FollowThenFetchAsync(CacheContext context, RequestDelegate next, string reason, string key, TaskCompletionSource<FetchOutcome> flight)
    {
        var http = context.HttpContext;
        do
        {
            var landed = await FollowAsync(flight, key, http.RequestAborted);
            if (landed is null && flight.Task.IsCompletedSuccessfully)
            {
                landed = flight.Task.Result; // landed as the wait timed out
            }
            if (landed is null && !http.RequestAborted.IsCancellationRequested)
            {
                // The fetch outlived CollapseTimeout: one follower takes it over with a fetch of its own, the others
                // wait for that one; at most one more request per key goes upstream each CollapseTimeout.
                if (TryTakeOver(key, flight, out var takeOver))
                {
                    metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "took_over"));
                    await LeadAsync(context, next, reason, key, takeOver);
                    return;
                }
                continue;
            }
            if (landed is { Abandoned: true } && !http.RequestAborted.IsCancellationRequested)
            {
                // The leader's client left and took the fetch with it: collapse again, so that one of the followers
                // leads the next fetch instead of every one of them going upstream (a single abort is no stampede).
                metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "leader_gone"));
                continue;
            }
            if (landed is { } outcome && await ServeAfterFetchAsync(context, outcome))
            {
                return;
            }
            if (landed is { Error: { } error } && !http.RequestAborted.IsCancellationRequested)
            {
                // No answer came (a hung origin, no connection, a reset): its waiters share its error instead of each
                // trying again; the origin is asked once per key, not once per waiter.
                metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "leader_failed"));
                served.AnswerWithError(context, CacheOutcome.Error, CacheStatus.CollapsedError, error); // the error shaping writes it
                return;
            }
            metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "not_stored"));
            await upstream.ForwardAsync(context, next, reason);
            return;
        }
        while (!TryLead(key, out flight));
        if (await LandIfStoredAsync(context, key, flight))
        {
            return;
        }
        await LeadAsync(context, next, reason, key, flight);
    }

    /// <summary>
    /// A request that waited and then found no flight to follow leads the next one — unless the flight it missed
    /// (it landed between this request's wait and its turn) stored what it needs: then that answers, and the flight
    /// this request leads lands at once, so that nobody fetches again.
    /// </summary>
    private async Task<bool> LandIfStoredAsync(CacheContext context, string key, TaskCompletionSource<FetchOutcome> flight)
    {
        if (await lookup.FindAsync(context) != Reuse.Fresh)
        {
            return false; // what the lookup found (a stale response to validate) stays for the fetch
        }
        Land(key, flight, new FetchOutcome(Stored: true, UpstreamFailed: false, Unreachable: false, UpstreamStatus: context.StoredResponse!.StatusCode));
        metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "served"));
        await served.ServeAsync(context, Served.Collapsed);
        return true;
    }

    private async Task LeadAsync(CacheContext context, RequestDelegate next, string reason, string key, TaskCompletionSource<FetchOutcome> flight)
    {
        var http = context.HttpContext;
        var outcome = default(FetchOutcome);
        try
        {
            await using var claim = await ClaimAsync(key);
            if (claim is null && await WaitForOtherInstanceAsync(key) && await ServeAfterFetchAsync(context, default))
            {
                return;
            }
            outcome = await upstream.ForwardAsync(context, next, reason);
        }
        finally
        {
            Land(key, flight, !outcome.Stored && http.RequestAborted.IsCancellationRequested ? outcome with { Abandoned = true } : outcome);
        }
    }

    /// <summary>
    /// After waiting for another fetch of the key: serves what it stored when that is fresh for this request, or the
    /// stale response when the fetch failed and stale serving is allowed. False: this request must go upstream.
    /// </summary>
    private async Task<bool> ServeAfterFetchAsync(CacheContext context, FetchOutcome fetch)
    {
        if (await lookup.FindAsync(context) is { } reuse)
        {
            if (reuse == Reuse.Fresh)
            {
                metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "served"));
                await served.ServeAsync(context, Served.Collapsed);
                return true;
            }
            if (fetch.UpstreamFailed && ReuseRules.StaleOnErrorAllows(context, context.Candidate, fetch.Unreachable, options.Current))
            {
                metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "served_stale"));
                await served.ServeAsync(context, Served.CollapsedStaleOnError, context.Candidate,
                    new UpstreamAnswer(string.Empty, fetch.UpstreamStatus, fetch.Unreachable));
                return true;
            }
        }
        return false;
    }

    /// <summary>Joins the fetch of <paramref name="key"/>; true when this request leads it and must <see cref="Land"/> it.</summary>
    public bool TryLead(string key, out TaskCompletionSource<FetchOutcome> flight)
    {
        var mine = new TaskCompletionSource<FetchOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        flight = _flights.GetOrAdd(key, mine);
        return ReferenceEquals(flight, mine);
    }

    /// <summary>
    /// Replaces the flight of <paramref name="key"/> that timed out with one this request leads; false when another
    /// follower was first, or the flight has landed meanwhile (then the loop looks again). The old leader's landing
    /// still reaches the followers that wait for it.
    /// </summary>
    private bool TryTakeOver(string key, TaskCompletionSource<FetchOutcome> timedOut, out TaskCompletionSource<FetchOutcome> flight)
    {
        flight = new TaskCompletionSource<FetchOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        return _flights.TryUpdate(key, flight, timedOut);
    }

    /// <summary>Ends a flight this request leads; its followers learn <paramref name="outcome"/>.</summary>
    public void Land(string key, TaskCompletionSource<FetchOutcome> flight, FetchOutcome outcome)
    {
        _flights.TryRemove(new KeyValuePair<string, TaskCompletionSource<FetchOutcome>>(key, flight));
        flight.TrySetResult(outcome);
    }

    /// <summary>Waits for a flight another request leads; null when the wait timed out.</summary>
    private async Task<FetchOutcome?> FollowAsync(TaskCompletionSource<FetchOutcome> flight, string key, CancellationToken aborted)
    {
        var timeout = options.Current.CollapseTimeout;
        // The wait (and its timer) exists before it is counted: whoever watches the count sees waits that will time out.
        var wait = flight.Task.WaitAsync(timeout, time, aborted);
        metrics.CollapseWaiting.Add(1);
        try
        {
            return await wait;
        }
        catch (TimeoutException)
        {
            TimedOut(timeout, key);
            return null;
        }
        finally
        {
            metrics.CollapseWaiting.Add(-1);
        }
    }

    /// <summary>
    /// Claims <paramref name="key"/> across instances: a claim to dispose when the fetch is done, or null when another
    /// instance holds it. Without a coordinator every instance may fetch.
    /// </summary>
    public ValueTask<IAsyncDisposable?> ClaimAsync(string key) =>
        coordinator?.TryClaimAsync(key, options.Current.CollapseTimeout, CancellationToken.None) ?? new(NoClaim.Instance);

    /// <summary>Waits (bounded) until the instance holding the claim on <paramref name="key"/> released it; false on timeout.</summary>
    private async Task<bool> WaitForOtherInstanceAsync(string key)
    {
        var timeout = options.Current.CollapseTimeout;
        metrics.CollapseWaiting.Add(1);
        bool released;
        try
        {
            released = await coordinator!.WaitForReleaseAsync(key, timeout, CancellationToken.None);
        }
        finally
        {
            metrics.CollapseWaiting.Add(-1);
        }
        if (!released)
        {
            TimedOut(timeout, key);
        }
        return released;
    }

    private void TimedOut(TimeSpan timeout, string key)
    {
        Log.CollapseWaitTimedOut(_logger, timeout, CacheKey.Hash(key));
        metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "timeout"));
    }

    private sealed class NoClaim : IAsyncDisposable
    {
        public static readonly NoClaim Instance = new();

        public ValueTask DisposeAsync() => default;
    }
}
