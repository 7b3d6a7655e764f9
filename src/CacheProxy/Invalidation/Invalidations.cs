using CacheProxy.Caching;
using CacheProxy.Diagnostics;
using CacheProxy.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Invalidation;

/// <summary>
/// Applies invalidations — purges and unsafe-method invalidations made here, and what other instances publish on
/// the <see cref="IInvalidationBus"/> — to the <see cref="InvalidationLedger"/> (which decides) and to the memory
/// tier (which frees what a hard purge removed at once: the exact URL, a tag, a prefix, everything). Replaced-entry
/// notices from other instances only drop the memory copy.
/// </summary>
internal sealed class Invalidations : IHostedService, IDisposable
{
    private readonly InvalidationLedger _ledger;
    private readonly MemoryCacheStore _memory;
    private readonly IInvalidationBus? _bus;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _prune;

    public Invalidations(InvalidationLedger ledger, MemoryCacheStore memory, TimeProvider time, CacheProxyMetrics metrics,
        ILoggerFactory loggers, IInvalidationBus? bus = null)
    {
        _ledger = ledger;
        _memory = memory;
        _bus = bus;
        metrics.Meter.CreateObservableGauge("cacheproxy.purge.records", () => ledger.Count, "{record}",
            "Purges remembered by URL, prefix or tag (for the purge retention).");
        var forgotten = metrics.Meter.CreateCounter<long>("cacheproxy.purge.forgotten", "{record}",
            "Purge records forgotten before their retention because the ledger reached Purge:MaxLedgerEntries (what they covered turned stale).");
        var logger = loggers.CreateLogger(LogCategories.Purge);
        ledger.Forgotten += count =>
        {
            forgotten.Add(count);
            Log.PurgeLedgerBounded(logger, count);
        };
        _prune = time.CreateTimer(static state => ((InvalidationLedger)state!).Prune(), ledger, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    /// <summary>Gets whether other instances can be told: a bus is registered.</summary>
    public bool Shared => _bus is not null;

    /// <summary>
    /// Applies <paramref name="messages"/> here and publishes them to every other instance. Returns how many
    /// memory-tier entries were removed here, and whether the bus holds every message (true without a bus: there is
    /// no other instance).
    /// </summary>
    /// <remarks>Published: whether the invalidation bus took every message; null without a bus (no other instance to tell).</remarks>
    public async Task<(int Removed, bool? Published)> ApplyAsync(IReadOnlyList<InvalidationMessage> messages)
    {
        var removed = 0;
        foreach (var message in messages)
        {
            removed += ApplyHere(message, here: true);
        }
        bool? published = null;
        if (_bus is not null)
        {
            published = true;
            foreach (var message in messages)
            {
                published &= await _bus.PublishAsync(message, CancellationToken.None);
            }
        }
        return (removed, published);
    }

    private int ApplyHere(InvalidationMessage message, bool here)
    {
        _ledger.Apply(message, here);
        if (message.Soft)
        {
            return 0; // soft: the entries stay, stale, to be revalidated
        }
        return message.Scope switch
        {
            InvalidationScope.Key => _memory.Remove(message.Value) ? 1 : 0, // variants and customized keys: the ledger
            InvalidationScope.Prefix => _memory.RemoveWhere((key, _) => key.StartsWith(message.Value, StringComparison.Ordinal)),
            InvalidationScope.Tag => _memory.RemoveWhere((_, entry) => entry.Tags.Contains(message.Value, StringComparer.Ordinal)),
            _ => _memory.Clear(),
        };
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _bus?.Subscribe((message, _) =>
        {
            ApplyHere(message, here: false);
            return default;
        }, (replaced, _) =>
        {
            _memory.Remove(replaced.Key);
            return default;
        }, _stopping.Token);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public void Dispose()
    {
        _stopping.Cancel();
        _prune.Dispose();
    }
}
