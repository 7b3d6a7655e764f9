using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Cdn;

/// <summary>What became of a request to forward a purge.</summary>
/// <param name="Purge">The forwarding, when it was queued.</param>
/// <param name="Providers">The providers it goes to.</param>
/// <param name="Refused">Why it could not be queued, when it was not (no providers is not a refusal: nothing to do).</param>
internal readonly record struct CdnQueued(CdnPurge? Purge, IReadOnlyList<string> Providers, string? Refused);

/// <summary>
/// Forwards purges to the CDNs: queues each in the <see cref="ICdnPurgeOutbox"/>, and delivers what the outbox
/// hands out, one loop per provider — at once for a purge queued here, else every
/// <see cref="CdnOptions.PollInterval"/> — retrying with exponential backoff and jitter (or the provider's
/// Retry-After) until <see cref="CdnOptions.GiveUpAfter"/>, then dead-lettering it.
/// </summary>
internal sealed class CdnForwarder : IHostedService, IDisposable
{
    private readonly LastGoodOptions _options;
    private readonly ICdnPurgeOutbox _outbox;
    private readonly CdnPurgers _purgers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _forwardings;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _active;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Task> _loops = new(StringComparer.OrdinalIgnoreCase);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _supervisor;

    public CdnForwarder(LastGoodOptions options, ICdnPurgeOutbox outbox, CdnPurgers purgers, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _outbox = outbox;
        _purgers = purgers;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Purge);
        _deliveries = metrics.Meter.CreateCounter<long>("cacheproxy.cdn.deliveries", "{attempt}",
            "Attempts to forward a purge to a CDN, by provider and outcome: delivered, retry, failed (given up: a dead letter).");
        _forwardings = metrics.Meter.CreateCounter<long>("cacheproxy.cdn.forwardings", "{purge}",
            "Purges handed to the CDN outbox, by outcome: queued, not_queued (outbox full or down: the purge was answered 503).");
        _active = metrics.Meter.CreateUpDownCounter<long>("cacheproxy.cdn.deliveries.active", "{delivery}", "Deliveries to CDNs under way now, by provider.");
        _duration = metrics.Meter.CreateHistogram<double>("cacheproxy.cdn.delivery.duration", "s", "How long one attempt to forward a purge to a CDN took, by provider.");
    }

    /// <summary>Gets the outbox forwardings wait in.</summary>
    public ICdnPurgeOutbox Outbox => _outbox;

    /// <summary>Gets how the outbox is shown: <c>memory</c> (this process's) or <c>shared</c> (Redis, or an app's own).</summary>
    public string OutboxKind => _outbox is MemoryCdnPurgeOutbox ? "memory" : "shared";

    /// <summary>Gets the providers (their names) purges go to now.</summary>
    public IReadOnlyList<string> Providers => _purgers.Names();

    /// <summary>Gets the type a provider is shown with.</summary>
    public string TypeOf(string name) => _purgers.TypeOf(name);

    /// <summary>Queues the forwarding of a purge to every provider; nothing (a null purge) when there is none.</summary>
    public async Task<CdnQueued> QueueAsync(IReadOnlyList<string> urls, IReadOnlyList<string> tags, IReadOnlyList<string> prefixes, bool soft)
    {
        var providers = _purgers.Names();
        if (providers.Count == 0 || urls.Count + tags.Count + prefixes.Count == 0)
        {
            return new(null, [], null);
        }
        var purge = new CdnPurge(Guid.CreateVersion7(_time.GetUtcNow()).ToString("N"), _time.GetUtcNow(), urls, tags, prefixes, soft);
        bool added;
        try
        {
            added = await _outbox.AddAsync(purge, providers, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            added = false; // an outbox that throws is one that is down
        }
        if (!added)
        {
            _forwardings.Add(1, new KeyValuePair<string, object?>("outcome", "not_queued"));
            return new(null, providers, $"the CDN outbox is full (CacheProxy:Cdn:MaxPending {_options.Current.Cdn.MaxPending}) or unavailable");
        }
        _forwardings.Add(1, new KeyValuePair<string, object?>("outcome", "queued"));
        Wake();
        return new(purge, providers, null);
    }

    /// <summary>
    /// Waits until every delivery of forwarding <paramref name="id"/> is settled (delivered or failed), or
    /// <paramref name="bound"/> passed; returns where it stands then (null when the outbox does not know it).
    /// </summary>
    public async Task<CdnForwarding?> WaitAsync(string id, TimeSpan bound, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + bound;
        while (true)
        {
            var settled = _settled.Task;
            var forwarding = await _outbox.GetAsync(id, cancellationToken);
            var left = deadline - _time.GetUtcNow();
            if (forwarding is null || forwarding.Deliveries.All(d => d.State != CdnDeliveryState.Pending) || left <= TimeSpan.Zero)
            {
                return forwarding;
            }
            var poll = _options.Current.Cdn.PollInterval;
            await Task.WhenAny(settled, Task.Delay(left < poll ? left : poll, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _supervisor = Task.Run(() => SuperviseAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        Task[] running;
        lock (_lock)
        {
            running = [.. _loops.Values, _supervisor ?? Task.CompletedTask];
        }
        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Starts a delivery loop for each provider configured now, whenever woken or every poll interval.</summary>
    private async Task SuperviseAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var wake = _wake.Task;
            lock (_lock)
            {
                foreach (var name in _purgers.Names())
                {
                    if (!_loops.ContainsKey(name))
                    {
                        _loops[name] = Task.Run(() => DeliverLoopAsync(name, stopping), CancellationToken.None);
                    }
                }
            }
            await Pause(wake, stopping);
        }
    }

    private async Task Pause(Task wake, CancellationToken stopping)
    {
        try
        {
            await Task.WhenAny(wake, Task.Delay(_options.Current.Cdn.PollInterval, _time, stopping));
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Delivers what the outbox hands out for one provider, until it is no longer configured or the host stops.</summary>
    private async Task DeliverLoopAsync(string name, CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested && _purgers.Get(name) is { } purger)
            {
                var wake = _wake.Task;
                CdnDelivery? delivery;
                try
                {
                    delivery = await _outbox.ClaimAsync(name, _options.Current.Cdn.RequestTimeout * 2, stopping);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.BackgroundWorkFailed(_logger, "cdn-claim", ex);
                    delivery = null;
                }
                if (delivery is null)
                {
                    await Pause(wake, stopping);
                    continue;
                }
                var provider = new KeyValuePair<string, object?>("provider", name);
                _active.Add(1, provider);
                try
                {
                    await DeliverAsync(purger, delivery, stopping);
                }
                finally
                {
                    _active.Add(-1, provider);
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                _loops.Remove(name);
            }
        }
    }

    private async Task DeliverAsync(ICdnPurger purger, CdnDelivery delivery, CancellationToken stopping)
    {
        var cdn = _options.Current.Cdn;
        var started = _time.GetTimestamp();
        CdnPurgeResult result;
        using (var timeout = new CancellationTokenSource(cdn.RequestTimeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping))
        {
            try
            {
                result = await purger.PurgeAsync(delivery.Purge, linked.Token);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return; // the claim's lease ends and the delivery is due again
            }
            catch (OperationCanceledException)
            {
                result = CdnPurgeResult.Retry($"no answer within CacheProxy:Cdn:RequestTimeout ({cdn.RequestTimeout})");
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                result = CdnPurgeResult.Retry($"{ex.GetType().Name}: {ex.Message}");
            }
        }
        var provider = new KeyValuePair<string, object?>("provider", delivery.Provider);
        _duration.Record(_time.GetElapsedTime(started).TotalSeconds, provider);
        var now = _time.GetUtcNow();
        CdnDeliveryUpdate update;
        switch (result.Outcome)
        {
            case CdnPurgeOutcome.Delivered:
                update = new(CdnDeliveryState.Delivered, Detail: result.Detail);
                Log.CdnDelivered(_logger, delivery.Purge.Id, delivery.Provider, delivery.Attempt, result.Detail);
                break;
            case CdnPurgeOutcome.Retry when now + Delay(result, delivery.Attempt, cdn) is var next && next <= delivery.Purge.Created + cdn.GiveUpAfter:
                update = new(CdnDeliveryState.Pending, next, result.Detail, result.Remaining);
                Log.CdnDeliveryRetried(_logger, delivery.Purge.Id, delivery.Provider, delivery.Attempt, result.Detail, next - now);
                break;
            default:
                var detail = result.Outcome == CdnPurgeOutcome.Retry
                    ? $"{result.Detail} (the next attempt would come after CacheProxy:Cdn:GiveUpAfter, {cdn.GiveUpAfter})"
                    : result.Detail;
                update = new(CdnDeliveryState.Failed, Detail: detail);
                result = result with { Outcome = CdnPurgeOutcome.Failed };
                Log.CdnDeliveryFailed(_logger, delivery.Purge.Id, delivery.Provider, delivery.Attempt, detail);
                break;
        }
        _deliveries.Add(1, provider, new KeyValuePair<string, object?>("outcome", result.Outcome switch
        {
            CdnPurgeOutcome.Delivered => "delivered",
            CdnPurgeOutcome.Retry => "retry",
            _ => "failed",
        }));
        try
        {
            await _outbox.SettleAsync(delivery, update, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.BackgroundWorkFailed(_logger, "cdn-settle", ex); // the lease ends and the delivery is attempted again: purging twice is harmless
        }
        Interlocked.Exchange(ref _settled, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>The wait before the next attempt: the provider's Retry-After, else exponential from RetryDelay with jitter (half to all of it), at most MaxRetryDelay.</summary>
    internal static TimeSpan Delay(CdnPurgeResult result, int attempt, CdnOptions cdn)
    {
        if (result.RetryAfter is { } asked && asked > TimeSpan.Zero)
        {
            return asked;
        }
        var full = cdn.RetryDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(full, cdn.MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks((long)(capped / 2 + (Random.Shared.NextDouble() * capped / 2)));
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public void Dispose() => _stopping.Dispose();
}
