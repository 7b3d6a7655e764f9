using System.Globalization;

namespace CacheProxy.Redis;

/// <summary>The id of an entry of a Redis stream, <c>{ms}-{seq}</c>, ordered as Redis orders them.</summary>
internal readonly record struct LogId(long Ms, long Seq) : IComparable<LogId>
{
    public static readonly LogId Zero = default;

    public static bool TryParse(string text, out LogId id)
    {
        id = default;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }
        id = new(ms, seq);
        return true;
    }

    /// <summary>An id Redis gave; anything else is a bug, not input.</summary>
    public static LogId Parse(string id) => TryParse(id, out var parsed) ? parsed : throw new FormatException($"'{id}' is not a Redis stream id");

    public int CompareTo(LogId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(LogId a, LogId b) => a.CompareTo(b) < 0;

    public static bool operator >(LogId a, LogId b) => a.CompareTo(b) > 0;

    public static bool operator <=(LogId a, LogId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(LogId a, LogId b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Ms}-{Seq}");
}

/// <summary>
/// The invalidation log entries this instance has applied (published, heard or replayed), as they were written
/// (<c>m</c>, without a log id): what it puts back when Redis loses them — a restart from an older snapshot, a
/// failover to a replica that had not received them. It is complete for every entry after
/// <see cref="CompleteAfter"/>, except those older than the purge retention, which no longer matter. Bounded by
/// <c>capacity</c>: dropping the oldest moves <see cref="CompleteAfter"/>.
/// </summary>
internal sealed class InvalidationJournal(int capacity, TimeSpan retention, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly SortedSet<Entry> _entries = new(Comparer<Entry>.Create((a, b) => a.Id.CompareTo(b.Id)));
    private readonly Dictionary<string, LogId> _wires = new(StringComparer.Ordinal);
    private LogId _completeAfter;

    /// <summary>Gets the id after which this journal holds every entry of the log.</summary>
    public LogId CompleteAfter
    {
        get
        {
            lock (_lock)
            {
                return _completeAfter;
            }
        }
    }

    /// <summary>Gets the newest entry's id, or null while the journal is empty.</summary>
    public LogId? Newest
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count == 0 ? null : _entries.Max.Id;
            }
        }
    }

    /// <summary>Starts again from a log read from its beginning.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _entries.Clear();
            _wires.Clear();
            _completeAfter = LogId.Zero;
        }
    }

    /// <summary>Records an entry; a message already held under an older id (it was put back) is held under the newer one.</summary>
    public void Add(LogId id, string wire)
    {
        lock (_lock)
        {
            if (_wires.TryGetValue(wire, out var held))
            {
                if (held >= id)
                {
                    return;
                }
                _entries.Remove(new Entry(held, wire));
            }
            _wires[wire] = id;
            _entries.Add(new Entry(id, wire));
            var horizon = (time.GetUtcNow() - retention).ToUnixTimeMilliseconds();
            while (_entries.Count > 0 && (_entries.Count > capacity || _entries.Min.Id.Ms < horizon))
            {
                var oldest = _entries.Min;
                _entries.Remove(oldest);
                _wires.Remove(oldest.Wire);
                if (oldest.Id.Ms >= horizon && oldest.Id > _completeAfter)
                {
                    _completeAfter = oldest.Id; // dropped for room: the journal no longer vouches for it
                }
            }
        }
    }

    /// <summary>The entries after <paramref name="id"/>, oldest first.</summary>
    public IReadOnlyList<string> After(LogId id)
    {
        lock (_lock)
        {
            return [.. _entries.GetViewBetween(new Entry(id with { Seq = id.Seq + 1 }, string.Empty), new Entry(new LogId(long.MaxValue, long.MaxValue), string.Empty))
                .Select(e => e.Wire)];
        }
    }

    private readonly record struct Entry(LogId Id, string Wire);
}
