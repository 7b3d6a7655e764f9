using System.Diagnostics.CodeAnalysis;

namespace CacheProxy.Storage;

/// <summary>
/// A capability of a store that can answer a read without waiting, such as an in-process tier. When the registered
/// <see cref="ICacheStore"/> has it, fresh hits are answered synchronously, without an async frame or a key string
/// (docs/performance.md); a store without it (a decorator, a remote store) is read through
/// <see cref="ICacheStore.GetAsync"/> and works the same, a little slower.
/// </summary>
public interface ISynchronousCacheStore : ICacheStore
{
    /// <summary>Reads the entry under <paramref name="key"/> if this store holds it in process; never waits, never throws.</summary>
    /// <param name="key">The cache key, as characters (it need not be a string).</param>
    /// <param name="entry">The entry, when found.</param>
    /// <returns>Whether an unexpired entry was found here. A tier behind this one is not asked.</returns>
    bool TryGet(ReadOnlySpan<char> key, [NotNullWhen(true)] out CacheEntry? entry);
}
