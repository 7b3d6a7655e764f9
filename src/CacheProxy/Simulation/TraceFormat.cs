namespace CacheProxy.Simulation;

/// <summary>The formats <see cref="TraceReader"/> reads.</summary>
public enum TraceFormat
{
    /// <summary>
    /// An nginx or Apache "combined" access log, optionally followed by <c>$request_time</c>: GET and HEAD requests
    /// answered 2xx, 3xx, 404 or 410 are replayed, keyed by their request target; <c>$body_bytes_sent</c> is the size.
    /// </summary>
    Combined = 0,

    /// <summary>Comma-separated <c>time,key,size[,ttl]</c>: time and ttl in seconds, key any text, size in bytes; a header line is skipped.</summary>
    Csv = 1,

    /// <summary>
    /// libCacheSim's "oracleGeneral" binary trace: 24-byte little-endian records of a uint32 time, a uint64 object id,
    /// a uint32 size and an int64 next access (unused).
    /// </summary>
    OracleGeneral = 2,
}
