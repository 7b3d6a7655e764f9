using System.Collections.Concurrent;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Storage;

namespace CacheProxy.Invalidation;

/// <summary>What the ledger says of a stored response.</summary>
internal enum Verdict
{
    /// <summary>No purge since its fill began: use it as its headers allow.</summary>
    Valid,

    /// <summary>Soft-purged (or older than anything the ledger can vouch for): stale from the purge on; revalidate.</summary>
    Stale,

    /// <summary>Hard-purged: as if it were not stored.</summary>
    Gone,
}

/// <summary>
/// Every purge of the last <see cref="PurgeOptions.Retention"/>, by URL key, key prefix and tag, with its time; the
/// one place that says whether a stored response survived them (compare Varnish's ban list). A purge applies to
/// responses whose fill began before it, so it never misses an entry stored before it, wherever it is stored, and a
/// fill that began before it and ended after it does not survive it either. Where the purge and the fill were timed
/// by different clocks (another instance made the purge, or filled the entry) the purge reaches
/// <see cref="PurgeOptions.ClockSkew"/> further, so a clock running ahead cannot let an old response through.
/// Nothing is looked up per stored entry: a purge of 100,000 entries by one tag is one record. Responses filled
/// before the oldest purge the ledger still remembers, or before a gap in what it heard from other instances (a soft
/// <see cref="InvalidationScope.All"/>, the horizon), are stale until revalidated.
/// </summary>
internal sealed class InvalidationLedger
{
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Records _keys = new();
    private readonly Records _prefixes = new();
    private readonly Records _tags = new();
    private int[] _prefixLengths = [];
    private Mark _all = Mark.None;
    private long _newest; // UTC ticks of the newest record: a fill that began after it (and the skew) needs no lookup

    public InvalidationLedger(LastGoodOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        // Nothing filled before the process started is in its memory tier; what the shared tier holds from before
        // is as old as the retention allows.
        _all = Mark.None.With(soft: true, here: true, (time.GetUtcNow() - options.Current.Purge.Retention).UtcTicks);
    }

    /// <summary>Gets how many purge records the ledger holds (URL keys, prefixes and tags).</summary>
    public int Count => _keys.Map.Count + _prefixes.Map.Count + _tags.Map.Count;

    /// <summary>
    /// Records a purge; <paramref name="here"/> when this instance made it, by its own clock.
    /// </summary>
    public void Apply(InvalidationMessage message, bool here)
    {
        var ticks = message.Time.UtcTicks;
        lock (_lock)
        {
            switch (message.Scope)
            {
                case InvalidationScope.Key:
                    _keys.Merge(message.Value, message.Soft, here, ticks);
                    break;
                case InvalidationScope.Prefix:
                    if (_prefixes.Merge(message.Value, message.Soft, here, ticks) && !_prefixLengths.Contains(message.Value.Length))
                    {
                        _prefixLengths = [.. _prefixLengths, message.Value.Length];
                    }
                    break;
                case InvalidationScope.Tag:
                    _tags.Merge(message.Value, message.Soft, here, ticks);
                    break;
                case InvalidationScope.All:
                    _all = _all.With(message.Soft, here, ticks);
                    break;
                default:
                    return;
            }
            if (ticks > _newest)
            {
                Volatile.Write(ref _newest, ticks);
            }
            if (Count > _options.Current.Purge.MaxLedgerEntries)
            {
                ForgetOldestTenth();
            }
        }
    }

    /// <summary>
    /// Past <see cref="Configuration.PurgeOptions.MaxLedgerEntries"/>: forgets the oldest tenth of the records before
    /// their retention ends, as <see cref="Prune"/> does at its end — what was filled before the newest of them turns
    /// stale (a soft <see cref="InvalidationScope.All"/> then), so no purged response is ever served. Under the lock.
    /// </summary>
    private void ForgetOldestTenth()
    {
        var times = _keys.Map.Values.Concat(_prefixes.Map.Values).Concat(_tags.Map.Values).Select(m => m.Newest).ToArray();
        Array.Sort(times);
        ForgetBefore(times[Math.Max(0, (times.Length / 10) - 1)] + 1); // records at or before this tick go
        Forgotten?.Invoke(times.Length - Count);
    }

    /// <summary>Raised (under the ledger's lock) with how many records were forgotten early for the bound.</summary>
    public event Action<int>? Forgotten;

    /// <summary>
    /// Whether <paramref name="entry"/>, stored for <paramref name="primaryKey"/>, survived every purge; when stale, since
    /// when. <paramref name="filledHere"/>: this process filled it, timing it by the clock its own purges use.
    /// </summary>
    public Verdict Check(ReadOnlySpan<char> primaryKey, CacheEntry entry, bool filledHere, out DateTimeOffset staleSince) =>
        Check(primaryKey, entry.RequestTime.UtcTicks, entry.Tags, filledHere, out staleSince);

    /// <summary>
    /// The same for what a fetch of <paramref name="primaryKey"/> begun at <paramref name="filled"/> (UTC ticks) learned,
    /// with <paramref name="tags"/>: a stored response's fields, or a <see cref="Caching.HitForPass"/> mark.
    /// </summary>
    public Verdict Check(ReadOnlySpan<char> primaryKey, long filled, IReadOnlyList<string> tags, bool filledHere, out DateTimeOffset staleSince)
    {
        staleSince = default;
        var skew = _options.Current.Purge.ClockSkew.Ticks;
        var all = Volatile.Read(ref _all);
        if (filled >= Volatile.Read(ref _newest) + skew && filled >= all.Soft)
        {
            return Verdict.Valid; // the common case: no purge since this fill began
        }
        // Purges made here reach further for entries another instance filled; purges from elsewhere always do.
        var localSkew = filledHere ? 0 : skew;
        var (hard, soft) = (all.Hard(localSkew, skew), all.Soft);
        _keys.Fold(CacheKey.UrlPart(primaryKey), localSkew, skew, ref hard, ref soft);
        foreach (var length in Volatile.Read(ref _prefixLengths))
        {
            if (length <= primaryKey.Length)
            {
                _prefixes.Fold(primaryKey[..length], localSkew, skew, ref hard, ref soft);
            }
        }
        foreach (var tag in tags)
        {
            _tags.Fold(tag, localSkew, skew, ref hard, ref soft);
        }
        if (filled < hard)
        {
            return Verdict.Gone;
        }
        if (filled < soft)
        {
            staleSince = new DateTimeOffset(soft, TimeSpan.Zero);
            return Verdict.Stale;
        }
        return Verdict.Valid;
    }

    /// <summary>
    /// Forgets purges older than the retention. What was filled before then can no longer be vouched for, so it
    /// turns stale (a soft <see cref="InvalidationScope.All"/> at that time).
    /// </summary>
    public void Prune()
    {
        var horizon = (_time.GetUtcNow() - _options.Current.Purge.Retention).UtcTicks;
        lock (_lock)
        {
            ForgetBefore(horizon);
        }
    }

    /// <summary>Forgets the records older than <paramref name="horizon"/> (UTC ticks); what was filled before it turns stale. Under the lock.</summary>
    private void ForgetBefore(long horizon)
    {
        _all = _all.With(soft: true, here: true, horizon);
        _keys.RemoveOlderThan(horizon);
        _tags.RemoveOlderThan(horizon);
        if (_prefixes.RemoveOlderThan(horizon))
        {
            _prefixLengths = [.. _prefixes.Map.Keys.Select(k => k.Length).Distinct()];
        }
    }

    /// <summary>
    /// The latest purge times (UTC ticks, 0 for none) of one selector: hard and soft, made here and elsewhere. The
    /// soft time of <see cref="InvalidationScope.All"/> is the horizon, which no skew extends (it is a bound of what
    /// was heard, not a purge).
    /// </summary>
    private sealed record Mark(long HardHere, long HardElsewhere, long SoftHere, long SoftElsewhere)
    {
        public static readonly Mark None = new(0, 0, 0, 0);

        public long Newest => Math.Max(Math.Max(HardHere, HardElsewhere), Math.Max(SoftHere, SoftElsewhere));

        public long Soft => Math.Max(SoftHere, SoftElsewhere);

        /// <summary>The hard purge time, each part reaching as far as its clock may be off.</summary>
        public long Hard(long localSkew, long skew) => Math.Max(Reach(HardHere, localSkew), Reach(HardElsewhere, skew));

        public long SoftReach(long localSkew, long skew) => Math.Max(Reach(SoftHere, localSkew), Reach(SoftElsewhere, skew));

        public Mark With(bool soft, bool here, long ticks) => (soft, here) switch
        {
            (false, true) => ticks > HardHere ? this with { HardHere = ticks } : this,
            (false, false) => ticks > HardElsewhere ? this with { HardElsewhere = ticks } : this,
            (true, true) => ticks > SoftHere ? this with { SoftHere = ticks } : this,
            _ => ticks > SoftElsewhere ? this with { SoftElsewhere = ticks } : this,
        };

        private static long Reach(long ticks, long skew) => ticks == 0 ? 0 : ticks + skew;
    }

    /// <summary>Marks by selector; written under the ledger's lock, read without it.</summary>
    private sealed class Records
    {
        public readonly ConcurrentDictionary<string, Mark> Map = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Mark>.AlternateLookup<ReadOnlySpan<char>> _byChars;

        public Records() => _byChars = Map.GetAlternateLookup<ReadOnlySpan<char>>();

        /// <summary>True when the selector is new.</summary>
        public bool Merge(string selector, bool soft, bool here, long ticks)
        {
            var found = Map.TryGetValue(selector, out var mark);
            Map[selector] = (mark ?? Mark.None).With(soft, here, ticks);
            return !found;
        }

        public void Fold(ReadOnlySpan<char> selector, long localSkew, long skew, ref long hard, ref long soft)
        {
            if (!Map.IsEmpty && _byChars.TryGetValue(selector, out var mark))
            {
                hard = Math.Max(hard, mark.Hard(localSkew, skew));
                soft = Math.Max(soft, mark.SoftReach(localSkew, skew));
            }
        }

        /// <summary>True when any was removed.</summary>
        public bool RemoveOlderThan(long ticks)
        {
            var removed = false;
            foreach (var (selector, mark) in Map)
            {
                if (mark.Newest < ticks)
                {
                    removed |= Map.TryRemove(selector, out _);
                }
            }
            return removed;
        }
    }
}
