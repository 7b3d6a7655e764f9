using System.Security.Cryptography;
using System.Text;
using CacheProxy.Storage;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Redis;

/// <summary>
/// The stored-response layout in Redis, written down in one place.
/// <para>Keys (all under <see cref="Configuration.RedisOptions.KeyPrefix"/>, "cacheproxy:" below):</para>
/// <list type="bullet">
/// <item><c>cacheproxy:e:{H}</c> — the entry, H = 32 hex digits of SHA-256 of the cache key. The braces are a Redis
/// Cluster hash tag: an entry and its chunks live in one slot, so they are written in one transaction.</item>
/// <item><c>cacheproxy:e:{H}:c:N</c> — body chunk N (from 0) of a chunked body.</item>
/// <item><c>cacheproxy:l:{H}</c> — the claim of the instance fetching the key (cross-instance collapsing): a random
/// token, set with NX and a lease (PX), deleted only by its owner.</item>
/// <item><c>cacheproxy:invalidate</c> — the pub/sub channel between instances: invalidations (by key, prefix or tag,
/// or of everything) and released claims (waiting instances look again), in one channel so they arrive in order;
/// the message format is <see cref="InvalidationSubscribers"/>'s.</item>
/// </list>
/// <para>Value (little-endian, strings length-prefixed UTF-8): "CP", format version (2), the full cache key (a
/// different key under the same hash is a miss), status, request time, response time, expiry (UTC ticks),
/// freshness override (ticks, -1 none), headers (count; name, value count, values), tags (count; tags), body
/// length, chunk count (0 = body follows inline), chunk size (when chunked: every chunk but the last has this
/// size). An unknown version (version 1 held the engine's Vary bookkeeping), a truncated value or a key mismatch is
/// a miss.</para>
/// </summary>
internal static class RedisEntryFormat
{
    public const byte Version = 2;

    public static string EntryKey(string prefix, string cacheKey) => string.Concat(prefix, "e:{", Hash(cacheKey), "}");

    public static string ClaimKey(string prefix, string cacheKey) => string.Concat(prefix, "l:{", Hash(cacheKey), "}");

    private static string Hash(string cacheKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cacheKey)), 0, 16);

    public static string ChunkKey(string entryKey, int index) => string.Concat(entryKey, ":c:", index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static byte[] Write(string cacheKey, CacheEntry entry, DateTimeOffset expiresAt, int chunkCount, int chunkSize = 0)
    {
        using var stream = new MemoryStream(256 + (chunkCount == 0 ? entry.Body.Length : 0));
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write((byte)'C');
            w.Write((byte)'P');
            w.Write(Version);
            w.Write(cacheKey);
            w.Write(entry.StatusCode);
            w.Write(entry.RequestTime.UtcTicks);
            w.Write(entry.ResponseTime.UtcTicks);
            w.Write(expiresAt.UtcTicks);
            w.Write(entry.FreshnessOverride?.Ticks ?? -1L);
            w.Write(entry.Headers.Count);
            foreach (var h in entry.Headers)
            {
                w.Write(h.Key);
                w.Write(h.Value.Count);
                foreach (var v in h.Value)
                {
                    w.Write(v ?? string.Empty);
                }
            }
            w.Write(entry.Tags.Count);
            foreach (var tag in entry.Tags)
            {
                w.Write(tag);
            }
            w.Write(checked((int)entry.BodyLength));
            w.Write(chunkCount);
            if (chunkCount == 0)
            {
                w.Write(entry.Body.Span);
            }
            else
            {
                w.Write(chunkSize);
            }
        }
        return stream.ToArray();
    }

    /// <summary>Reads a value; null when it is not a value of this version for <paramref name="cacheKey"/>.</summary>
    public static Parsed? Read(string cacheKey, ReadOnlyMemory<byte> value)
    {
        var span = value.Span;
        if (span.Length < 3 || span[0] != (byte)'C' || span[1] != (byte)'P' || span[2] != Version)
        {
            return null;
        }
        try
        {
            using var stream = new MemoryStream(value.ToArray(), 3, value.Length - 3, writable: false);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            if (r.ReadString() != cacheKey)
            {
                return null;
            }
            var status = r.ReadInt32();
            var requestTime = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var responseTime = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var expiresAt = new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero);
            var overrideTicks = r.ReadInt64();
            var headerCount = Count(r.ReadInt32(), 10_000);
            var headers = new KeyValuePair<string, StringValues>[headerCount];
            for (var i = 0; i < headerCount; i++)
            {
                var name = r.ReadString();
                var values = new string[Count(r.ReadInt32(), 10_000)];
                for (var j = 0; j < values.Length; j++)
                {
                    values[j] = r.ReadString();
                }
                headers[i] = new(name, new StringValues(values));
            }
            var tags = new string[Count(r.ReadInt32(), 100_000)];
            for (var i = 0; i < tags.Length; i++)
            {
                tags[i] = r.ReadString();
            }
            var bodyLength = Count(r.ReadInt32(), int.MaxValue);
            var chunkCount = Count(r.ReadInt32(), 1_000_000);
            var chunkSize = 0;
            byte[] body = [];
            if (chunkCount == 0)
            {
                body = r.ReadBytes(bodyLength);
                if (body.Length != bodyLength)
                {
                    return null; // truncated
                }
            }
            else
            {
                chunkSize = Count(r.ReadInt32(), int.MaxValue);
                if (chunkSize == 0 || (long)chunkSize * (chunkCount - 1) >= bodyLength || (long)chunkSize * chunkCount < bodyLength)
                {
                    return null; // chunk layout does not add up to the body
                }
            }
            var entry = new CacheEntry
            {
                StatusCode = status,
                RequestTime = requestTime,
                ResponseTime = responseTime,
                FreshnessOverride = overrideTicks < 0 ? null : TimeSpan.FromTicks(overrideTicks),
                Headers = headers,
                Tags = tags,
                Body = body,
            };
            return new Parsed(entry, expiresAt, bodyLength, chunkCount, chunkSize);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or FormatException or OverflowException)
        {
            return null; // garbage under our key: a miss
        }
    }

    private static int Count(int value, int max) => value < 0 || value > max ? throw new FormatException("count out of range") : value;

    /// <summary>A value read back: the entry (body empty when chunked), when it expires, and how its body is stored.</summary>
    public sealed record Parsed(CacheEntry Entry, DateTimeOffset ExpiresAt, int BodyLength, int ChunkCount, int ChunkSize);
}
