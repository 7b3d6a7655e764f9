using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// Finds the stored response for a request (RFC 9111 §4.1): the entry under the primary key, or — when that is a
/// <see cref="VaryRule"/> — the variant the request's Vary field values select; then asks the
/// <see cref="InvalidationLedger"/> whether a purge removed it (a miss) or made it stale. Two ways in: synchronously
/// from a store with <see cref="ISynchronousCacheStore"/> (the fresh-hit path: no async frame, and without key
/// customizers no key string), and through <see cref="ICacheStore.GetAsync"/>. The memory tier hands over its
/// <see cref="StoredEntry"/>s, with what the engine keeps beside each entry; an entry of any other store gets a fresh one.
/// </summary>
internal sealed class CacheLookup
{
    private const int StackKeyLength = 256;

    private readonly ICacheStore _store;
    private readonly ISynchronousCacheStore? _synchronous;
    private readonly IStoredEntries? _stored;
    private readonly bool _memoryOnly;
    private readonly CacheKey _keys;
    private readonly StoreFailures _failures;
    private readonly InvalidationLedger _ledger;
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;

    public CacheLookup(ICacheStore store, CacheKey keys, StoreFailures failures, InvalidationLedger ledger, LastGoodOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _store = store;
        _synchronous = store as ISynchronousCacheStore;
        _stored = store as IStoredEntries;
        _memoryOnly = store is MemoryCacheStore; // no other tier: what it lacks is not stored
        _keys = keys;
        _failures = failures;
        _ledger = ledger;
    }

    /// <summary>Gets whether the store can answer without waiting.</summary>
    public bool CanFindSynchronously => _synchronous is not null || _stored is not null;

    /// <summary>
    /// The response stored for <paramref name="context"/>'s request in the synchronous tier, when it is there and no
    /// purge touched it. The lookup's <see cref="Lookup.FetchKey"/> is the primary key when a string had to be built
    /// for it (a long URL, a Vary rule, key customizers), else null.
    /// </summary>
    public bool TryFind(HttpContext context, out Lookup found)
    {
        found = default;
        if (_synchronous is null)
        {
            return false;
        }
        Span<char> buffer = stackalloc char[StackKeyLength];
        if (!_keys.TryWriteForLookup(context, buffer, out var key, out var length))
        {
            return false;
        }
        ReadOnlySpan<char> primary = key is null ? buffer[..length] : key;
        var now = _time.GetUtcNow(); // the one read of the wall clock: the memory tier's expiry and the response's age
        if (!TryGet(primary, now, out var entry))
        {
            return false;
        }
        if (VaryRule.IsRule(entry))
        {
            if (VaryRule.Read(entry) is not { } rule || !TryFindVariant(primary, key, rule, context.Request, now, out entry))
            {
                return false;
            }
            entry.MarkReused();
        }
        // A stored part takes the full path, where CacheLookup.FindAsync decides whether it covers the request.
        if (entry.Entry.StatusCode == StatusCodes.Status206PartialContent
            || _ledger.Check(primary, entry.Entry, entry.FilledHere, out _) != Verdict.Valid)
        {
            return false;
        }
        found = new Lookup(key, entry, At: now);
        return true;
    }

    /// <summary>
    /// The primary and fetch keys of a request <see cref="TryFind"/> answered, which builds no key string: for the rare
    /// work that needs them (<see cref="RefreshAhead"/>). Null when the lookup no longer finds it.
    /// </summary>
    public (string Primary, string Fetch)? KeysFor(HttpContext context)
    {
        if (_synchronous is null)
        {
            return null;
        }
        Span<char> buffer = stackalloc char[StackKeyLength];
        if (!_keys.TryWriteForLookup(context, buffer, out var key, out var length))
        {
            return null;
        }
        var primary = key ?? new string(buffer[..length]);
        if (!TryGet(primary, _time.GetUtcNow(), out var entry))
        {
            return null;
        }
        if (!VaryRule.IsRule(entry))
        {
            return (primary, primary);
        }
        return VaryRule.Read(entry) is { } rule && Variants.KeyFor(primary, rule, context.Request) is { } variant ? (primary, variant) : null;
    }

    /// <summary>From the synchronous tier: the memory tier's own entry, or another store's in a fresh <see cref="StoredEntry"/>.</summary>
    private bool TryGet(ReadOnlySpan<char> key, DateTimeOffset now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredEntry? found)
    {
        if (_stored is not null)
        {
            return _stored.TryGetStored(key, now, out found);
        }
        found = _synchronous!.TryGet(key, out var entry) ? new StoredEntry(entry, filledHere: false) : null;
        return found is not null;
    }

    // Not async for the memory tier: its answer is passed on as it is, no frame of ours around it.
    private ValueTask<StoredEntry?> GetAsync(string key) =>
        _stored is not null ? _stored.GetStoredAsync(key, CancellationToken.None) : WrapAsync(_store.GetAsync(key, CancellationToken.None));

    private static async ValueTask<StoredEntry?> WrapAsync(ValueTask<CacheEntry?> get) =>
        await get is { } entry ? new StoredEntry(entry, filledHere: false) : null;

    /// <summary>
    /// What is stored for <paramref name="context"/>'s request (its <see cref="CacheContext.Key"/> set): the response
    /// that may answer it, the key its fetch is shared on (the variant's when a Vary rule is known), and what the
    /// rule and the purges said. A failing store is a miss.
    /// </summary>
    // Not async when the memory tier answers and nothing traces lookups: a hit there costs no frame of ours.
    public ValueTask<Lookup> FindAsync(CacheContext context) =>
        _stored is not null && !CacheProxyTelemetry.ActivitySource.HasListeners() && TryFindInMemory(context, _time.GetUtcNow(), out var found)
            ? new(found)
            : FindTracedAsync(context);

    /// <summary>The lookup from the memory tier alone; false when another tier may know more (or the tier failed): then the full lookup.</summary>
    private bool TryFindInMemory(CacheContext context, DateTimeOffset now, out Lookup found)
    {
        found = default;
        var key = context.Key!;
        var request = context.HttpContext.Request;
        try
        {
            if (!_stored!.TryGetStored(key, now, out var entry) && !_memoryOnly)
            {
                return false;
            }
            found = AfterPrimary(key, entry, request, out var variantNext);
            if (!variantNext)
            {
                found = found with { At = now };
                return true;
            }
            if (!_stored.TryGetStored(found.FetchKey!, now, out var variant) && !_memoryOnly)
            {
                return false;
            }
            found = AfterVariant(found, key, variant, request) with { At = now };
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false; // the full lookup records the failure
        }
    }

    private async ValueTask<Lookup> FindTracedAsync(CacheContext context)
    {
        var key = context.Key!;
        var request = context.HttpContext.Request;
        using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.lookup");
        try
        {
            // No request token: reading HttpContext.RequestAborted makes Kestrel allocate a token source per request,
            // and stores bound their own calls with timeouts.
            var found = AfterPrimary(key, await GetAsync(key), request, out var variantNext);
            return (variantNext ? AfterVariant(found, key, await GetAsync(found.FetchKey!), request) : found) with { At = _time.GetUtcNow() };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            _failures.Record("get", key, ex, write: false);
            return Lookup.Nothing(key);
        }
    }

    /// <summary>
    /// What the entry under the primary <paramref name="key"/> says: the lookup's result, or — when it is a Vary rule
    /// that selects a variant (<paramref name="variantNext"/>) — the lookup so far, its fetch key the variant's key.
    /// </summary>
    private Lookup AfterPrimary(string key, StoredEntry? entry, HttpRequest request, out bool variantNext)
    {
        variantNext = false;
        if (entry is null)
        {
            return Lookup.Nothing(key);
        }
        if (!VaryRule.IsRule(entry))
        {
            return CheckPurgesAndParts(Lookup.Nothing(key), key, entry, request);
        }
        if (VaryRule.Read(entry) is not { } rule || Variants.KeyFor(key, rule, request) is not { } variantKey)
        {
            return Lookup.Nothing(key) with { VaryRuleFound = true };
        }
        variantNext = true;
        return new Lookup(variantKey, null, VaryRuleFound: true, KeyedOnAcceptEncoding: AcceptEncodingKeying.IsKeyedOn(rule.Names));
    }

    /// <summary><paramref name="found"/> with the <paramref name="variant"/> stored under its fetch key, when there is one.</summary>
    private Lookup AfterVariant(in Lookup found, string key, StoredEntry? variant, HttpRequest request)
    {
        if (variant is null || VaryRule.IsRule(variant))
        {
            return found;
        }
        variant.MarkReused();
        return CheckPurgesAndParts(found, key, variant, request);
    }

    /// <summary>
    /// <paramref name="found"/> with <paramref name="entry"/>, unless a hard purge removed it (a soft one leaves it
    /// stale from the purge on), or it is a stored part that does not cover the request (RFC 9111 §3.3): then a miss,
    /// the part kept for combining with what the upstream sends.
    /// </summary>
    private Lookup CheckPurgesAndParts(in Lookup found, string key, StoredEntry entry, HttpRequest request)
    {
        DateTimeOffset? purgedSince = null;
        switch (_ledger.Check(key, entry.Entry, entry.FilledHere, out var staleSince))
        {
            case Verdict.Gone:
                return found;
            case Verdict.Stale:
                purgedSince = staleSince;
                break;
        }
        if (entry.Entry.StatusCode == StatusCodes.Status206PartialContent
            && !PartialContent.Covers(entry.Entry, StoredPolicy.For(entry, _options.Current), request, out _, out _, out _))
        {
            return found with { Part = entry };
        }
        return found with { Entry = entry, PurgedSince = purgedSince };
    }

    /// <summary>
    /// The variant <paramref name="rule"/> selects for the request, from the synchronous tier. A rule on Accept-Encoding
    /// alone (every compressed response's) has the class as its suffix: its key is written on the stack, no string.
    /// </summary>
    private bool TryFindVariant(ReadOnlySpan<char> primary, string? key, VaryRule rule, HttpRequest request, DateTimeOffset now,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredEntry? found)
    {
        found = null;
        if (AcceptEncodingKeying.IsOnlyKey(rule.Names) && primary.Length + rule.Generation.Length <= StackKeyLength)
        {
            var suffix = Http.AcceptEncoding.Class(request.Headers.AcceptEncoding);
            Span<char> variantKey = stackalloc char[Variants.KeyLength(primary, rule.Generation, suffix)];
            Variants.WriteKey(primary, rule.Generation, suffix, variantKey);
            return TryGet(variantKey, now, out found) && !VaryRule.IsRule(found);
        }
        return Variants.KeyFor(key ?? new string(primary), rule, request) is { } built
            && TryGet(built, now, out found) && !VaryRule.IsRule(found);
    }
}
