namespace CacheProxy.Caching;

/// <summary>
/// A key as log events name it (<see cref="CacheKey.Hash"/>), hashed only when the event is written: a Debug event
/// that is off costs no SHA-256 of the key (it measured about 1 µs per forwarded request).
/// </summary>
internal readonly struct KeyHash(string key)
{
    public override string ToString() => CacheKey.Hash(key);
}
