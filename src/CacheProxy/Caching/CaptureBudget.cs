using CacheProxy.Configuration;

namespace CacheProxy.Caching;

/// <summary>
/// The bytes that response bodies being kept for the store take at once, across all requests in flight, bounded by
/// <see cref="CacheProxyOptions.CaptureMemoryLimit"/>: a capture that would pass it is not started or not grown, and
/// the response is streamed without being stored (<see cref="CaptureBodyFeature"/>).
/// </summary>
internal sealed class CaptureBudget(LastGoodOptions options)
{
    /// <summary>A quarter of what the GC may use: with the memory tier at most half of it (startup validation), tier and captures stay below three quarters.</summary>
    private static readonly long DefaultLimit = Math.Max(1L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    private long _used;

    /// <summary>Gets the bytes reserved now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Gets the limit in force (reloadable).</summary>
    public long Limit => options.Current.CaptureMemoryLimit ?? DefaultLimit;

    /// <summary>Reserves <paramref name="bytes"/> if they fit under the limit.</summary>
    public bool TryReserve(long bytes)
    {
        var limit = Limit;
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    /// <summary>Adds bytes without asking: what a pool handed out beyond the size reserved for.</summary>
    public void Add(long bytes) => Interlocked.Add(ref _used, bytes);

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
