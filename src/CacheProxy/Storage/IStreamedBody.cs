namespace CacheProxy.Storage;

/// <summary>
/// A stored body that a store streams on demand instead of holding in memory (CacheProxy.Redis uses it for bodies
/// stored in chunks). Set as <see cref="CacheEntry.StreamedBody"/>; the entry's <see cref="CacheEntry.Body"/> is then
/// empty.
/// </summary>
public interface IStreamedBody
{
    /// <summary>Gets the body's length in bytes.</summary>
    long Length { get; }

    /// <summary>Writes <paramref name="count"/> bytes from <paramref name="offset"/> to <paramref name="destination"/>.</summary>
    /// <param name="destination">Where to write.</param>
    /// <param name="offset">The first byte.</param>
    /// <param name="count">How many bytes.</param>
    /// <param name="cancellationToken">Cancels the copy.</param>
    /// <returns>A task that completes when the bytes were written.</returns>
    /// <exception cref="IOException">The store could not deliver the bytes; the response must be aborted.</exception>
    Task CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken);
}
