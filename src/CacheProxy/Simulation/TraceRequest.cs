namespace CacheProxy.Simulation;

/// <summary>One request of a trace, as a <see cref="CacheReplay"/> takes it.</summary>
/// <param name="Time">When it was made, in seconds from any origin (expiry is measured on this clock).</param>
/// <param name="Key">The object's key: equal keys are the same object (a 64-bit hash of the URL for logs; the object id for binary traces).</param>
/// <param name="Size">The object's size in bytes.</param>
/// <param name="TimeToLive">How long a stored copy stays fresh; null: until evicted.</param>
/// <param name="OriginSeconds">How long the origin took to answer it (<c>$request_time</c>), when the trace says; 0 otherwise.</param>
public readonly record struct TraceRequest(double Time, ulong Key, long Size, TimeSpan? TimeToLive = null, double OriginSeconds = 0);
