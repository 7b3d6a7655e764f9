namespace CacheProxy.Caching;

/// <summary>
/// The last reason a response for a key was not stored, for <c>GET /inspect</c>: a small bounded record in memory
/// (<see cref="Capacity"/> keys; past it the oldest key is forgotten), keyed by the cache key (no hash per
/// forwarded request), filled on the miss path only.
/// </summary>
internal sealed class NotStoredRecord(TimeProvider time)
{
    public const int Capacity = 4096;

    private readonly Dictionary<string, (string Reason, DateTimeOffset At)> _reasons = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _lock = new();

    public void Add(string key, string reason)
    {
        var at = time.GetUtcNow();
        lock (_lock)
        {
            if (!_reasons.ContainsKey(key))
            {
                if (_order.Count >= Capacity)
                {
                    _reasons.Remove(_order.Dequeue());
                }
                _order.Enqueue(key);
            }
            _reasons[key] = (reason, at);
        }
    }

    public (string Reason, DateTimeOffset At)? Find(string key)
    {
        lock (_lock)
        {
            return _reasons.TryGetValue(key, out var found) ? found : null;
        }
    }
}
