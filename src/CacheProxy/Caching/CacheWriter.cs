using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// Writes to the store: a response under its key, or under its variant's key with the URL's <see cref="VaryRule"/>
/// kept up to date (bounded by <see cref="CacheProxyOptions.MaxVariantsPerUrl"/>); and removals. A failing store
/// is logged and counted, never thrown.
/// </summary>
internal sealed class CacheWriter(ICacheStore store, LastGoodOptions options, ILoggerFactory loggers, StoreFailures failures,
    VariantFrequencies frequencies, CacheProxyMetrics metrics)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    // A URL's Vary rule is read, changed and written back: one writer per URL at a time in this instance (striped by
    // the key's hash), or concurrent variants would each write a rule without the others' and leave them unlisted.
    private readonly SemaphoreSlim[] _ruleLocks = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Stores <paramref name="entry"/> for the request; false when it was not stored (no time to live, store failed).</summary>
    /// <remarks>
    /// <paramref name="acceptEncodingClasses"/>: the Accept-Encoding classes to store the variant under in place of the
    /// request's (an identity body for every class, or one compressed representation), in one change of the URL's
    /// rule; the result is the first class's.
    /// </remarks>
    public async Task<bool> StoreAsync(string key, HttpRequest request, CacheEntry entry, IReadOnlyList<string>? varyNames,
        params IReadOnlyList<string> acceptEncodingClasses)
    {
        var current = options.Current;
        var ttl = StoredPolicy.Of(entry, current).TimeToLive(current);
        if (ttl <= TimeSpan.Zero)
        {
            Log.ResponseNotStored(_logger, new KeyHash(key), "no time to live");
            return false;
        }
        using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.store");
        try
        {
            if (varyNames is null)
            {
                await store.SetAsync(key, entry, ttl, CancellationToken.None);
            }
            else if (!await StoreVariantAsync(key, request, entry, varyNames, ttl, current, acceptEncodingClasses))
            {
                Log.ResponseNotStored(_logger, new KeyHash(key), "a variant fetched less often than every variant stored for its URL (MaxVariantsPerUrl reached)");
                metrics.VariantsNotAdmitted.Add(1);
                return false;
            }
            Log.ResponseStored(_logger, entry.BodyLength, new KeyHash(key), ttl);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            failures.Record("set", key, ex, write: true);
            return false;
        }
    }

    /// <summary>
    /// Stores the variant (under each of <paramref name="classes"/>, or the request's own) and the URL's rule with it;
    /// false when the first was not admitted (<see cref="VariantToDropAsync"/>).
    /// </summary>
    private async Task<bool> StoreVariantAsync(string key, HttpRequest request, CacheEntry entry, IReadOnlyList<string> varyNames,
        TimeSpan ttl, CacheProxyOptions current, IReadOnlyList<string> classes)
    {
        List<string> suffixes = classes.Count == 0 ? [SuffixFor(null)] : [.. classes.Select(SuffixFor)];
        var gate = _ruleLocks[(uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_ruleLocks.Length];
        await gate.WaitAsync();
        try
        {
            var existing = await store.GetAsync(key, CancellationToken.None);
            string generation;
            List<string> variants;
            if (existing is not null && VaryRule.Decode(existing) is { } rule && rule.SameNames(varyNames))
            {
                generation = rule.Generation;
                variants = [.. rule.Variants];
                variants.RemoveAll(suffixes.Contains);
            }
            else
            {
                // A new rule (or a response without Vary before it): a new generation orphans the old variants, which
                // leave the store now rather than at their expiry.
                if (existing is not null && VaryRule.Decode(existing) is { } old)
                {
                    foreach (var variant in old.Variants)
                    {
                        await store.RemoveAsync(Variants.Key(key, old.Generation, variant), CancellationToken.None);
                    }
                }
                generation = Guid.NewGuid().ToString("N");
                variants = [];
            }
            var firstStored = false;
            foreach (var suffix in suffixes)
            {
                if (!await AdmitAsync(key, generation, variants, suffix, current))
                {
                    continue;
                }
                firstStored |= ReferenceEquals(suffix, suffixes[0]);
                variants.Add(suffix);
                await store.SetAsync(Variants.Key(key, generation, suffix), entry, ttl, CancellationToken.None);
            }
            await store.SetAsync(key, new VaryRule(varyNames, generation, variants).ToEntry(),
                ttl > current.StaleRetention ? ttl : current.StaleRetention, CancellationToken.None);
            return firstStored;
        }
        finally
        {
            gate.Release();
        }

        string SuffixFor(string? coding)
        {
            Variants.Suffix(request, varyNames, out var suffix, coding);
            return suffix;
        }
    }

    /// <summary>Makes room for <paramref name="suffix"/> under <see cref="CacheProxyOptions.MaxVariantsPerUrl"/>; false when it is worth less than any variant it would push out (TinyLFU's admission).</summary>
    private async Task<bool> AdmitAsync(string key, string generation, List<string> variants, string suffix, CacheProxyOptions current)
    {
        var frequency = frequencies.Fetched(key, suffix);
        while (variants.Count >= current.MaxVariantsPerUrl)
        {
            var (dropped, worth) = await VariantToDropAsync(key, generation, variants);
            if (frequency < worth)
            {
                return false;
            }
            await store.RemoveAsync(Variants.Key(key, generation, variants[dropped]), CancellationToken.None);
            variants.RemoveAt(dropped);
        }
        return true;
    }

    /// <summary>
    /// Which variant makes room, and what it is worth: how often it was fetched lately (<see cref="VariantFrequencies"/>),
    /// one more when a client asked for it again since it was stored (only the memory tier remembers that); the least
    /// worth goes, the oldest of equals. Values sent once — junk in a Vary'd field — so push out each other, never
    /// the variants clients use, and a newcomer worth less than the least is not stored at all.
    /// </summary>
    private async ValueTask<(int Index, int Worth)> VariantToDropAsync(string key, string generation, List<string> variants)
    {
        var (least, leastWorth) = (0, int.MaxValue);
        for (var i = 0; i < variants.Count; i++)
        {
            var worth = frequencies.Of(key, variants[i]);
            if (store is IStoredEntries stored
                && await stored.GetStoredAsync(Variants.Key(key, generation, variants[i]), CancellationToken.None) is { Reused: true })
            {
                worth++;
            }
            if (worth < leastWorth)
            {
                (least, leastWorth) = (i, worth);
            }
        }
        return (least, leastWorth);
    }

    /// <summary>RFC 9111 §4.4: removes what is stored under <paramref name="key"/> (the Vary rule takes its variants with it).</summary>
    public async Task InvalidateAsync(string? key, HttpContext context)
    {
        if (key is null)
        {
            return;
        }
        try
        {
            await store.RemoveAsync(key, CancellationToken.None);
            Log.Invalidated(_logger, new KeyHash(key), context.Request.Method, context.Response.StatusCode);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failures.Record("remove", key, ex, write: true);
        }
    }
}

/// <summary>A failed store operation: counted by tier and operation, counted as a store error, logged; the request goes on.</summary>
internal sealed class StoreFailures
{
    private readonly CacheProxyMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _tier;

    public StoreFailures(ICacheStore store, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _metrics = metrics;
        _logger = loggers.CreateLogger(LogCategories.Cache);
        _tier = store is MemoryCacheStore ? "memory" : store.GetType().Name.ToLowerInvariant();
    }

    public void Record(string operation, string key, Exception exception, bool write)
    {
        _metrics.StoreFailures.Add(1, new KeyValuePair<string, object?>("tier", _tier), new KeyValuePair<string, object?>("operation", operation));
        _metrics.Error(ErrorCategory.Store);
        if (write)
        {
            Log.StoreWriteFailed(_logger, CacheKey.Hash(key), exception);
        }
        else
        {
            Log.StoreReadFailed(_logger, CacheKey.Hash(key), exception);
        }
    }
}
