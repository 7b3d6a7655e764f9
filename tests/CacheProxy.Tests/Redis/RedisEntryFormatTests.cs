using System.Text;
using CacheProxy.Redis;
using CacheProxy.Storage;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Redis;

/// <summary>The stored-response layout in Redis, pinned: a change here is a format change and needs a new version.</summary>
public sealed class RedisEntryFormatTests
{
    private const string Key = "http\u001Fexample.com\u001F/a\u001F?q=1";

    private static CacheEntry Sample() => new()
    {
        StatusCode = 200,
        Headers = [new("Cache-Control", "max-age=60"), new("Set-Cookie", new StringValues(["a=1", "b=2"]))],
        Body = Encoding.UTF8.GetBytes("hello"),
        RequestTime = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero),
        ResponseTime = new DateTimeOffset(2026, 11, 29, 10, 0, 1, TimeSpan.Zero),
        FreshnessOverride = TimeSpan.FromMinutes(5),
        Tags = ["product-7"],
    };

    [Fact]
    public void RoundTrip_KeepsEveryField()
    {
        var expires = new DateTimeOffset(2026, 11, 29, 11, 0, 0, TimeSpan.Zero);
        var parsed = RedisEntryFormat.Read(Key, RedisEntryFormat.Write(Key, Sample(), expires, chunkCount: 0));

        Assert.NotNull(parsed);
        var e = parsed.Entry;
        Assert.Equal(200, e.StatusCode);
        Assert.Equal("max-age=60", e.GetHeader("cache-control").ToString());
        Assert.Equal("a=1,b=2", e.GetHeader("Set-Cookie").ToString());
        Assert.Equal(2, e.GetHeader("Set-Cookie").Count);
        Assert.Equal("hello", Encoding.UTF8.GetString(e.Body.Span));
        Assert.Equal(Sample().RequestTime, e.RequestTime);
        Assert.Equal(Sample().ResponseTime, e.ResponseTime);
        Assert.Equal(TimeSpan.FromMinutes(5), e.FreshnessOverride);
        Assert.Equal(["product-7"], e.Tags);
        Assert.Equal(expires, parsed.ExpiresAt);
    }

    [Fact]
    public void Layout_StartsWithMagicVersionAndTheFullKey()
    {
        var bytes = RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, 0);

        Assert.Equal((byte)'C', bytes[0]);
        Assert.Equal((byte)'P', bytes[1]);
        Assert.Equal(2, bytes[2]);
        Assert.Equal(Key.Length, bytes[3]); // BinaryWriter's 7-bit length prefix of the key
        Assert.Equal(Key, Encoding.UTF8.GetString(bytes, 4, Key.Length));
    }

    [Fact]
    public void UnknownVersion_IsAMiss()
    {
        var bytes = RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, 0);
        bytes[2] = 1; // version 1 held the engine's Vary bookkeeping
        Assert.Null(RedisEntryFormat.Read(Key, bytes));
        bytes[2] = 3;
        Assert.Null(RedisEntryFormat.Read(Key, bytes));
    }

    [Fact]
    public void AnotherKeyUnderTheSameHash_IsAMiss()
    {
        Assert.Null(RedisEntryFormat.Read(Key + "x", RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, 0)));
    }

    [Fact]
    public void TruncatedOrGarbage_IsAMiss()
    {
        var bytes = RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, 0);
        for (var length = 0; length < bytes.Length; length += 7)
        {
            Assert.Null(RedisEntryFormat.Read(Key, bytes.AsMemory(0, length)));
        }
        Assert.Null(RedisEntryFormat.Read(Key, Encoding.UTF8.GetBytes("garbage that is not an entry")));
    }

    [Fact]
    public void ChunkedBody_IsNotInline_AndItsLengthAndCountAreKept()
    {
        var parsed = RedisEntryFormat.Read(Key, RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, chunkCount: 3, chunkSize: 2))!;

        Assert.Equal(3, parsed.ChunkCount);
        Assert.Equal(2, parsed.ChunkSize);
        Assert.Equal(5, parsed.BodyLength);
        Assert.True(parsed.Entry.Body.IsEmpty);
    }

    [Fact]
    public void Keys_UseAClusterHashTag_SharedByEntryChunksAndClaim()
    {
        var entry = RedisEntryFormat.EntryKey("cp:", Key);
        var tag = entry[(entry.IndexOf('{'))..(entry.IndexOf('}') + 1)];

        Assert.Matches(@"^cp:e:\{[0-9a-f]{32}\}$", entry);
        Assert.Equal(entry + ":c:4", RedisEntryFormat.ChunkKey(entry, 4));
        Assert.Equal("cp:l:" + tag, RedisEntryFormat.ClaimKey("cp:", Key));
    }

    [Theory]
    [InlineData(3, 1)] // 3 chunks of 1 byte cannot hold 5 bytes
    [InlineData(3, 5)] // the last chunk would be empty
    [InlineData(3, 0)]
    public void ChunkLayoutThatDoesNotAddUp_IsAMiss(int chunkCount, int chunkSize)
    {
        Assert.Null(RedisEntryFormat.Read(Key, RedisEntryFormat.Write(Key, Sample(), DateTimeOffset.UnixEpoch, chunkCount, chunkSize)));
    }
}
