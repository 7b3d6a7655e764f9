namespace CacheProxy.Storage.Eviction;

/// <summary>
/// How often keys were asked for, approximately and with aging: a count-min sketch of 4-bit counters, four per key in
/// four different words of one table (TinyLFU, Einziger, Friedman and Manes, ACM TOS 2017; the layout of Caffeine's
/// <c>FrequencySketch</c>). When the additions reach ten times the table's width every counter is halved, so that
/// popularity that has passed fades. Increments take no lock and are not atomic (a rare lost increment, never a
/// corrupt counter); growing and halving are the owner's, under its lock. Memory: 8 bytes per key of capacity, at most <see cref="MaxWords"/> words.
/// </summary>
internal sealed class FrequencySketch
{
    /// <summary>The table's largest width: 2^23 words, 64 MiB, enough for eight million entries.</summary>
    public const int MaxWords = 1 << 23;

    /// <summary>The largest count a counter holds.</summary>
    public const int MaxCount = 15;

    private static readonly ulong[] Seeds = [0xc3a5c85c97cb3127UL, 0xb492b66fbe98f273UL, 0x9ae16a3b2f90404fUL, 0xcbf29ce484222325UL];

    private long[] _table = [];
    private int _mask;
    private int _sampleSize;
    private int _additions;

    /// <summary>The bytes the table holds.</summary>
    public long Bytes => _table.LongLength * sizeof(long);

    /// <summary>Whether the table exists yet (it is made when the cache is half full: before that nothing is evicted).</summary>
    public bool Initialized => _table.Length > 0;

    /// <summary>How many additions start the next halving.</summary>
    public int SampleSize => _sampleSize;

    /// <summary>Grows the table to hold <paramref name="capacity"/> keys; its counts start again when it grows. Under the owner's lock.</summary>
    public void EnsureCapacity(long capacity)
    {
        var words = (int)Math.Min(MaxWords, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(capacity, 16)));
        if (words <= _table.Length)
        {
            return;
        }
        _table = new long[words];
        _mask = words - 1;
        _sampleSize = words > int.MaxValue / 10 ? int.MaxValue : words * 10;
        _additions = 0;
    }

    /// <summary>The estimated count of <paramref name="hash"/>, 0 to 15.</summary>
    public int Frequency(int hash)
    {
        var table = _table;
        if (table.Length == 0)
        {
            return 0;
        }
        var spread = Spread(hash);
        var start = (spread & 3) << 2;
        var frequency = int.MaxValue;
        for (var i = 0; i < 4; i++)
        {
            var word = Volatile.Read(ref table[IndexOf(spread, i, table.Length - 1)]);
            var count = (int)((word >>> ((start + i) << 2)) & 0xf);
            frequency = Math.Min(frequency, count);
        }
        return frequency;
    }

    /// <summary>
    /// Counts one more request for <paramref name="hash"/>; true when the additions reached the sample size and the
    /// owner should call <see cref="Halve"/>. Lock-free.
    /// </summary>
    public bool Increment(int hash)
    {
        var table = _table;
        if (table.Length == 0)
        {
            return false;
        }
        var spread = Spread(hash);
        var start = (spread & 3) << 2;
        var added = false;
        for (var i = 0; i < 4; i++)
        {
            added |= IncrementAt(table, IndexOf(spread, i, table.Length - 1), start + i);
        }
        return added && Interlocked.Increment(ref _additions) >= _sampleSize;
    }

    /// <summary>Halves every counter (aging). Under the owner's lock; increments racing with it are kept or halved, never lost whole.</summary>
    public void Halve()
    {
        var table = _table;
        if (Volatile.Read(ref _additions) < _sampleSize)
        {
            return; // another caller halved already
        }
        var odd = 0;
        for (var i = 0; i < table.Length; i++)
        {
            long word, halved;
            do
            {
                word = Volatile.Read(ref table[i]);
                halved = (word >>> 1) & 0x7777777777777777L;
            }
            while (Interlocked.CompareExchange(ref table[i], halved, word) != word);
            odd += System.Numerics.BitOperations.PopCount((ulong)(word & 0x1111111111111111L));
        }
        Volatile.Write(ref _additions, (_additions - (odd >>> 2)) >>> 1);
    }

    // Not atomic, on purpose (Caffeine's sketch is not either): two threads adding to one word at once may lose one
    // increment, never corrupt a counter (each write is a value read plus one below saturation). An estimate loses
    // nothing it needs, and a hit saves four compare-and-swaps.
    private static bool IncrementAt(long[] table, int index, int counter)
    {
        var offset = counter << 2;
        var mask = 0xfL << offset;
        var word = table[index];
        if ((word & mask) == mask)
        {
            return false; // saturated at 15
        }
        table[index] = word + (1L << offset);
        return true;
    }

    private static int IndexOf(int spread, int i, int mask)
    {
        var hash = ((ulong)(uint)spread + Seeds[i]) * Seeds[i];
        hash += hash >>> 32;
        return (int)hash & mask;
    }

    // A supplemental hash: keys' hash codes from any source spread over all 32 bits.
    private static int Spread(int x)
    {
        var h = (uint)x;
        h = ((h >>> 16) ^ h) * 0x45d9f3b;
        h = ((h >>> 16) ^ h) * 0x45d9f3b;
        return (int)((h >>> 16) ^ h);
    }
}
