using CacheProxy.Configuration;

namespace CacheProxy.Simulation;

/// <summary>What one policy at one size did with a trace.</summary>
/// <param name="Policy">The eviction policy.</param>
/// <param name="CacheSize">The cache's size limit in bytes.</param>
/// <param name="Requests">Requests replayed.</param>
/// <param name="Hits">Requests answered from the cache.</param>
/// <param name="RequestBytes">Bytes asked for.</param>
/// <param name="HitBytes">Bytes answered from the cache.</param>
/// <param name="OriginSeconds">Origin time the misses cost (from the trace's request times; 0 when it has none).</param>
/// <param name="Rejected">New objects the admission policy kept out.</param>
public sealed record ReplayResult(EvictionPolicy Policy, long CacheSize, long Requests, long Hits, long RequestBytes, long HitBytes,
    double OriginSeconds, long Rejected)
{
    /// <summary>Hits per request, 0 to 1.</summary>
    public double HitRatio => Requests == 0 ? 0 : (double)Hits / Requests;

    /// <summary>Bytes answered from the cache per byte asked for, 0 to 1.</summary>
    public double ByteHitRatio => RequestBytes == 0 ? 0 : (double)HitBytes / RequestBytes;

    /// <summary>Requests that went to the origin.</summary>
    public long OriginRequests => Requests - Hits;
}
