using CacheProxy.Caching;
using CacheProxy.Redis;

namespace CacheProxy.Tests.Caching;

public sealed class VariantsTests
{
    [Fact]
    public void AVaryRule_IsAnOrdinaryEntry_ThatRoundTripsThroughAStore()
    {
        var rule = new VaryRule(["accept-encoding", "accept-language"], "g1", ["en\u001Fgzip", "\u0002\u001Fbr"]);
        const string key = "http\u001Fh\u001F/a\u001F";

        // As the Redis tier keeps it: nothing but status, headers and body.
        var entry = RedisEntryFormat.Read(key, RedisEntryFormat.Write(key, rule.ToEntry(), DateTimeOffset.UnixEpoch, 0))!.Entry;
        var stored = new CacheProxy.Storage.StoredEntry(entry, filledHere: false);
        var read = VaryRule.Read(stored);

        Assert.True(VaryRule.IsRule(entry));
        Assert.NotNull(read);
        Assert.Equal(rule.Names, read.Names);
        Assert.Equal(rule.Generation, read.Generation);
        Assert.Equal(rule.Variants, read.Variants);
        Assert.Same(read, VaryRule.Read(stored)); // decoded once, kept beside the entry
    }

    [Fact]
    public void AResponse_IsNotARule()
    {
        Assert.Null(VaryRule.Decode(new CacheProxy.Storage.CacheEntry { StatusCode = 200 }));
    }

    [Theory]
    [InlineData("Accept-Language, accept-language", new[] { "accept-language" })]
    [InlineData("B, a", new[] { "a", "b" })]
    public void Names_AreLowerCasedSortedAndDistinct(string vary, string[] names)
    {
        Assert.True(Variants.Names(vary, out var parsed));
        Assert.Equal(names, parsed);
    }

    [Fact]
    public void VaryStar_NeverMatches()
    {
        Assert.False(Variants.Names("Accept, *", out _));
    }
}
