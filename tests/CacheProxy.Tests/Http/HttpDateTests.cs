using CacheProxy.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Http;

public sealed class HttpDateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Nov6 = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    [Theory]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT")] // IMF-fixdate
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT")] // rfc850-date
    [InlineData("Sun Nov  6 08:49:37 1994")] // asctime-date, one-digit day
    [InlineData("SUN, 06 NOV 1994 08:49:37 gmt")] // names in any case
    [InlineData("Mon, 06 Nov 1994 08:49:37 GMT")] // the day name is not checked against the date
    [InlineData("  Sun, 06 Nov 1994 08:49:37 GMT\t")]
    public void AcceptsAllThreeFormats_Rfc9110_5_6_7(string value)
    {
        Assert.True(HttpDate.TryParse(new StringValues(value), Now, out var date));
        Assert.Equal(Nov6, date);
    }

    [Fact]
    public void AsctimeDate_TakesATwoDigitDay()
    {
        Assert.True(HttpDate.TryParse("Thu Aug 18 02:01:18 2050", Now, out var date));
        Assert.Equal(new DateTimeOffset(2050, 8, 18, 2, 1, 18, TimeSpan.Zero), date);
    }

    [Theory]
    [InlineData("Thursday, 18-Aug-50 02:01:18 GMT", 2050)] // 24 years ahead: this century
    [InlineData("Friday, 18-Aug-76 02:01:18 GMT", 2076)] // exactly 50 years ahead: still this century
    [InlineData("Monday, 18-Aug-77 02:01:18 GMT", 1977)] // more than 50 years ahead: the century before
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT", 1994)]
    public void Rfc850TwoDigitYear_MoreThan50YearsAhead_IsThePastCentury_Rfc9110_5_6_7(string value, int year)
    {
        Assert.True(HttpDate.TryParse(value, Now, out var date));
        Assert.Equal(year, date.Year);
    }

    [Theory]
    [InlineData("Thu, 18 Aug 2050 02:01:18 UTC")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 AEST")]
    [InlineData("Thu, 18 Aug 50 02:01:18 GMT")] // two-digit year in IMF-fixdate
    [InlineData("Thu 18 Aug 2050 02:01:18 GMT")] // no comma
    [InlineData("Thu, 18  Aug  2050 02:01:18 GMT")] // more spaces
    [InlineData("Thu, 18-Aug-2050 02:01:18 GMT")] // dashes in IMF-fixdate
    [InlineData("Thu, 18 Aug 2050 02.01.18 GMT")]
    [InlineData("Thu, 18 Aug 2050 2:01:18 GMT")] // one-digit hour
    [InlineData("Thu, 8 Aug 2050 02:01:18 GMT")] // one-digit day
    [InlineData("Thu, 31 Feb 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 24:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 02:60:18 GMT")]
    [InlineData("Thu, 18 Aug 0000 02:01:18 GMT")]
    [InlineData("Xyz, 18 Aug 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Foo 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 GMT, Thu, 18 Aug 2050 02:01:19 GMT")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 GMT x")]
    [InlineData("Thursday, 18-Aug-2050 02:01:18 GMT")] // four-digit year in rfc850-date
    [InlineData("Thursday, 18 Aug 50 02:01:18 GMT")]
    [InlineData("Thu Aug 18 02:01:18 2050 GMT")]
    [InlineData("Thu Aug 8 02:01:18 2050")] // asctime one-digit day without its leading space
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("")]
    public void RejectsEverythingElse(string value)
    {
        Assert.False(HttpDate.TryParse(value, Now, out _));
    }

    [Fact]
    public void AFieldOnSeveralLines_IsInvalid()
    {
        const string valid = "Sun, 06 Nov 1994 08:49:37 GMT";
        Assert.False(HttpDate.TryParse(new StringValues([valid, valid]), Now, out _));
        Assert.False(HttpDate.TryParse(StringValues.Empty, Now, out _));
    }

    [Fact]
    public void ALeapSecond_IsTheLastSecondOfItsMinute()
    {
        Assert.True(HttpDate.TryParse("Wed, 31 Dec 2016 23:59:60 GMT", Now, out var date));
        Assert.Equal(new DateTimeOffset(2016, 12, 31, 23, 59, 59, TimeSpan.Zero), date);
    }

    [Fact]
    public void EveryCutOfEveryFormat_IsAnsweredAndOnlyTheWholeOneParses()
    {
        foreach (var value in new[] { "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994" })
        {
            for (var length = 0; length < value.Length; length++)
            {
                Assert.False(HttpDate.TryParse(value.AsSpan(0, length), Now, out _), value[..length]);
            }
            Assert.True(HttpDate.TryParse(value, Now, out _));
        }
    }

    [Theory]
    [InlineData("Thu, 18 Aug 2050 02:01:18 GMT", true)]
    [InlineData("Thursday, 18-Aug-50 02:01:18 GMT", true)]
    [InlineData("Thu Aug 18 02:01:18 2050", true)]
    [InlineData("Thu, 18 Aug 2050 2:01:18 GMT", false)]
    [InlineData("Thu, 18-Aug-2050 02:01:18 GMT", false)]
    public void Expires_InAnyValidFormat_GivesFreshness_AndAnInvalidOneMeansExpired_Rfc9111_5_3(string expires, bool fresh)
    {
        var headers = new CacheHeaders(StringValues.Empty, StringValues.Empty, StringValues.Empty, expires, Now.ToString("r"),
            StringValues.Empty, StringValues.Empty, StringValues.Empty);
        var lifetime = Freshness.Lifetime(headers, CacheControl.Parse(StringValues.Empty), 200, Now, 0.1, TimeSpan.FromDays(1), out var explicitExpiry, out _);
        Assert.True(explicitExpiry);
        Assert.Equal(fresh, lifetime > TimeSpan.Zero);
    }
}
