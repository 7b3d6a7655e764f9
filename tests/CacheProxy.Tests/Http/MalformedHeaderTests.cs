using CacheProxy.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Http;

/// <summary>
/// Header values come from clients and origins and cannot be trusted: every parser must take any cut of a tricky
/// value — quotes, escapes, separators, signs, overflowing numbers, control characters — and answer, never throw.
/// </summary>
public sealed class MalformedHeaderTests
{
    private const string Tricky = "max-age=\"9\\\"9\", no-cache=\"a,\\\\b\", s-maxage=99999999999999999999999;x=\"\t\u0001\u007f" +
        ", W/\"e\\\"t\", *, bytes=-0-18446744073709551616, 1.5e3, a=?, b=:YQ, c=%\"d, e=@, Sun, 06 Nov 1994 08:49:37 GMT\\";

    // Valid as a Structured Field Dictionary up to its last character, so cuts reach into every item kind.
    private const string Structured = "a=-1.5;p=?1, b=\"q\\\"\", c=tok/en:1, d=:YWI=:, e=%\"x\", f=?0, g=@-5";

    public static TheoryData<string> Prefixes()
    {
        // Each cut once: both values start with the empty cut, and xUnit skips a case whose ID it has seen.
        var cuts = new[] { Tricky, Structured }.SelectMany(value => Enumerable.Range(0, value.Length + 1).Select(length => value[..length]));
        return [.. cuts.Distinct(StringComparer.Ordinal)];
    }

    [Theory]
    [MemberData(nameof(Prefixes))]
    public void EveryParser_AnswersEveryCutOfATrickyValue(string value)
    {
        foreach (var values in new[] { new StringValues(value), new StringValues([value, value]) }) // one line, two lines
        {
            Assert.Null(Record.Exception(() => CacheControl.Parse(values)));
            Assert.Null(Record.Exception(() => CacheControl.Parse(values, "CacheProxy")));
            Assert.Null(Record.Exception(() => CacheControl.ParseTargeted(values)));
            Assert.Null(Record.Exception(() => Freshness.TryParseAge(values, out _)));
            Assert.Null(Record.Exception(() => HttpDate.TryParse(values, DateTimeOffset.UnixEpoch, out _)));
            Assert.Null(Record.Exception(() => Conditional.WeakMatch(values, value)));
            Assert.Null(Record.Exception(() => Conditional.IfRangeHolds(values, "\"e\"", DateTimeOffset.UnixEpoch)));
            Assert.Null(Record.Exception(() => CacheProxy.Caching.StoredPart.TryParse(values, out _)));
            Assert.Null(Record.Exception(() => CacheProxy.Caching.StoredPart.TryParse("bytes " + value, out _)));
        }
        Assert.Null(Record.Exception(() => ByteRange.Resolve(value, 100, out _, out _)));
        Assert.Null(Record.Exception(() => ByteRange.Resolve("bytes=" + value, 100, out _, out _)));
    }
}
