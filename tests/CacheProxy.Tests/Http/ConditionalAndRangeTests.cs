using CacheProxy.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Http;

public sealed class ConditionalAndRangeTests
{
    [Theory]
    [InlineData("\"a\"", "\"a\"", true)]
    [InlineData("W/\"a\"", "\"a\"", true)]
    [InlineData("\"b\", \"a\"", "W/\"a\"", true)]
    [InlineData("*", "\"x\"", true)]
    [InlineData("\"b\"", "\"a\"", false)]
    public void IfNoneMatch_UsesWeakComparison_Rfc9110_13_1_2(string ifNoneMatch, string etag, bool match)
    {
        Assert.Equal(match, Conditional.WeakMatch(new StringValues(ifNoneMatch), etag));
    }

    [Fact]
    public void IfModifiedSince_IsIgnored_WhenIfNoneMatchIsPresent_Rfc9110_13_1_3()
    {
        var lm = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var headers = new HeaderDictionary { ["If-None-Match"] = "\"other\"", ["If-Modified-Since"] = lm.AddDays(1).ToString("r") };
        Assert.False(Conditional.IsNotModified(headers, "\"a\"", lm, lm));
        headers.Remove("If-None-Match");
        Assert.True(Conditional.IsNotModified(headers, "\"a\"", lm, lm));
    }

    [Theory]
    [InlineData("bytes=0-4", 10, 0, 5)]
    [InlineData("bytes=5-", 10, 5, 5)]
    [InlineData("bytes=-3", 10, 7, 3)]
    [InlineData("bytes=8-100", 10, 8, 2)]
    public void SingleRanges_Resolve_Rfc9110_14_1_2(string header, long length, long start, long count)
    {
        Assert.Equal(ByteRange.Outcome.Partial, ByteRange.Resolve(header, length, out var s, out var c));
        Assert.Equal((start, count), (s, c));
    }

    [Theory]
    [InlineData("bytes=10-", false)]
    [InlineData("bytes=0-1,3-4", true)]
    [InlineData("items=0-1", true)]
    [InlineData("bytes=5-2", true)]
    public void OtherRanges_AreUnsatisfiableOrServedWhole(string header, bool whole)
    {
        Assert.Equal(whole ? ByteRange.Outcome.Full : ByteRange.Outcome.Unsatisfiable, ByteRange.Resolve(header, 10, out _, out _));
    }
}
