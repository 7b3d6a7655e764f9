using CacheProxy.Storage;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// A body stored in chunks (<c>…:c:N</c>), streamed to the client one chunk at a time: a Redis hit never holds a
/// whole large object in memory, and a range reads only the chunks it covers.
/// </summary>
internal sealed class RedisChunkedBody(RedisCacheStore store, IConnectionMultiplexer redis, string entryKey, long length, int chunkCount, int chunkSize)
    : IStreamedBody
{
    public string EntryKey { get; } = entryKey;

    public int ChunkCount { get; } = chunkCount;

    public int ChunkSize { get; } = chunkSize;

    public long Length { get; } = length;

    public async Task CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken)
    {
        var end = offset + count; // exclusive
        for (var index = (int)(offset / ChunkSize); index < ChunkCount && (long)index * ChunkSize < end; index++)
        {
            var chunk = await store.ReadChunkAsync(redis, RedisEntryFormat.ChunkKey(EntryKey, index))
                ?? throw new IOException($"chunk {index} of {EntryKey} could not be read");
            var chunkStart = (long)index * ChunkSize;
            var expected = (int)Math.Min(ChunkSize, Length - chunkStart);
            if (chunk.Length != expected)
            {
                throw new IOException($"chunk {index} of {EntryKey} has {chunk.Length} bytes, expected {expected}");
            }
            var from = (int)Math.Max(0, offset - chunkStart);
            var to = (int)Math.Min(chunk.Length, end - chunkStart);
            await destination.WriteAsync(chunk.AsMemory(from, to - from), cancellationToken);
        }
    }
}
