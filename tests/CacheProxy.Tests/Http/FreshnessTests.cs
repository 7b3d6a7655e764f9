using CacheProxy.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Http;

public sealed class FreshnessTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static string Http(DateTimeOffset d) => d.ToString("r");

    private static CacheHeaders Headers(string? cc = null, string? expires = null, DateTimeOffset? date = null,
        DateTimeOffset? lastModified = null, string? age = null, string? cdn = null, string? surrogate = null) => new(
        cc ?? StringValues.Empty, cdn ?? StringValues.Empty, surrogate ?? StringValues.Empty, expires ?? StringValues.Empty,
        date is null ? StringValues.Empty : Http(date.Value), lastModified is null ? StringValues.Empty : Http(lastModified.Value),
        age ?? StringValues.Empty, StringValues.Empty);

    private static TimeSpan Lifetime(CacheHeaders h, int status = 200, bool cdn = true, string? surrogate = "CacheProxy")
    {
        var cc = Freshness.Governing(h, new TargetedFields(cdn, surrogate));
        return Freshness.Lifetime(h, cc, status, Now, 0.1, TimeSpan.FromDays(1), out _, out _);
    }

    [Fact]
    public void SMaxAge_OverridesMaxAge_InASharedCache_Rfc9111_4_2_1()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Lifetime(Headers("max-age=60, s-maxage=10")));
    }

    [Fact]
    public void MaxAge_OverridesExpires_Rfc9111_4_2_1()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), Lifetime(Headers("max-age=60", expires: Http(Now.AddHours(1)), date: Now)));
    }

    [Fact]
    public void Expires_MinusDate_IsTheLifetime_Rfc9111_4_2_1()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), Lifetime(Headers(expires: Http(Now.AddMinutes(5)), date: Now)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("not a date")]
    public void InvalidExpires_MeansAlreadyExpired_Rfc9111_5_3(string expires)
    {
        Assert.Equal(TimeSpan.Zero, Lifetime(Headers(expires: expires, date: Now)));
    }

    [Fact]
    public void Heuristic_IsTenPercentOfTimeSinceLastModified_ForHeuristicallyCacheableStatus_Rfc9111_4_2_2()
    {
        var h = Headers(date: Now, lastModified: Now.AddHours(-10));
        Assert.Equal(TimeSpan.FromHours(1), Lifetime(h, 200));
        Assert.Equal(TimeSpan.FromHours(1), Lifetime(h, 404));
        Assert.Equal(TimeSpan.Zero, Lifetime(h, 302));
        Assert.Equal(TimeSpan.Zero, Lifetime(h, 500));
    }

    [Fact]
    public void Heuristic_IsCapped()
    {
        var h = Headers(date: Now, lastModified: Now.AddDays(-365));
        Assert.Equal(TimeSpan.FromDays(1), Lifetime(h));
    }

    [Fact]
    public void CdnCacheControl_ReplacesCacheControl_Rfc9213()
    {
        Assert.Equal(TimeSpan.FromSeconds(600), Lifetime(Headers("no-store", cdn: "max-age=600")));
        Assert.Equal(TimeSpan.Zero, Lifetime(Headers("no-store", cdn: "max-age=600"), cdn: false));
    }

    [Theory]
    [InlineData("max-age=600, &&&")] // not a key
    [InlineData("MaX-aGe=600")] // keys are lowercase
    [InlineData("max-age =600")] // nothing may come between key and "="
    [InlineData("max-age= 600")]
    [InlineData("max-age=600,")] // trailing comma
    [InlineData("max-age=\"600")] // unterminated string
    public void CdnCacheControl_ThatIsNotAStructuredDictionary_IsIgnored_Rfc9213_2_2(string cdn)
    {
        // The field counts as absent, so Cache-Control governs.
        Assert.Equal(TimeSpan.FromSeconds(30), Lifetime(Headers("max-age=30", cdn: cdn)));
    }

    [Theory]
    [InlineData("max-age=\"600\"")] // a String
    [InlineData("max-age=600.0")] // a Decimal
    [InlineData("max-age=-600")] // a negative Integer
    [InlineData("max-age=?1")]
    [InlineData("none")] // no directive it knows: still replaces Cache-Control (RFC 9213 §3.1)
    public void CdnCacheControl_MaxAgeOfTheWrongType_IsIgnored_ButTheFieldStillGoverns_Rfc9213_2_1(string cdn)
    {
        Assert.Equal(TimeSpan.Zero, Lifetime(Headers("max-age=30", cdn: cdn)));
    }

    [Theory]
    [InlineData("max-age=600", 600)]
    [InlineData("foobar, max-age=600", 600)]
    [InlineData("max-age=600;foo=bar, private=?0", 600)]
    [InlineData("s-maxage=600, max-age=1", 600)]
    [InlineData("max-age=99999999999", 2147483648)] // capped like delta-seconds (RFC 9111 §1.2.2)
    public void CdnCacheControl_ValidDictionary_GivesTheLifetime_Rfc9213(string cdn, long seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Lifetime(Headers("no-store", cdn: cdn)));
    }

    [Fact]
    public void CdnCacheControl_AnyPrefixOfAnyItemKind_ParsesWithoutThrowing()
    {
        // Upstream header values are untrusted: every cut of every item kind must parse or be refused, never throw.
        const string all = "max-age=-12.345;a=?1;b=@17;c=%\"x\";d=:YWI=:, x=\"q\\\"\", y=tok/en:1, z=@-5, *w=?0";
        for (var length = 0; length <= all.Length; length++)
        {
            var value = all[..length];
            var parsed = Record.Exception(() => CacheControl.ParseTargeted(value));
            Assert.True(parsed is null, $"'{value}': {parsed}");
        }
        Assert.True(CacheControl.ParseTargeted(all).Present);
    }

    [Fact]
    public void CdnCacheControl_Flags_AreSetUnlessFalse_Rfc9213()
    {
        var flags = CacheControl.ParseTargeted("no-store, private, no-cache=\"set-cookie\", must-revalidate=?0");
        Assert.True(flags.NoStore);
        Assert.True(flags.Private);
        Assert.True(flags.NoCache);
        Assert.Null(flags.NoCacheFields); // a field-name list is not a Dictionary value: the whole directive applies
        Assert.False(flags.MustRevalidate);
        Assert.False(CacheControl.ParseTargeted("no-store, ").Present);
    }

    [Fact]
    public void SurrogateControl_MaxAge_ReplacesCacheControl_WhenHonoured()
    {
        Assert.Equal(TimeSpan.FromSeconds(100), Lifetime(Headers("max-age=1", surrogate: "max-age=100")));
        Assert.Equal(TimeSpan.FromSeconds(1), Lifetime(Headers("max-age=1", surrogate: "max-age=100"), surrogate: null));
    }

    [Fact]
    public void CorrectedInitialAge_TakesTheLargerOfApparentAgeAndAgePlusDelay_Rfc9111_4_2_3()
    {
        var requestTime = Now;
        var responseTime = Now.AddSeconds(2);
        // Age says 100; apparent age (response time - Date) is 32: the corrected Age value (102) wins.
        var a = Freshness.CorrectedInitialAge(Headers(age: "100", date: Now.AddSeconds(-30)), requestTime, responseTime);
        Assert.Equal(TimeSpan.FromSeconds(102), a);
        // Date far in the past: apparent age wins.
        var b = Freshness.CorrectedInitialAge(Headers(age: "5", date: Now.AddSeconds(-500)), requestTime, responseTime);
        Assert.Equal(TimeSpan.FromSeconds(502), b);
    }

    [Theory]
    [InlineData("abc", 0)]
    [InlineData("-7200", 0)]
    [InlineData("7200.0", 0)]
    [InlineData("60, 7200", 60)]
    [InlineData("0060", 60)]
    [InlineData("2147483647", 2147483647)]
    // RFC 9111 §1.2.2: a delta-seconds value too large to represent counts as 2^31.
    [InlineData("2147483648", 2147483648)]
    [InlineData("99999999999999999999", 2147483648)]
    public void Age_InvalidIsIgnored_ListUsesFirstMember_Rfc9111_5_1(string age, long expectedSeconds)
    {
        var parsed = Freshness.TryParseAge(new StringValues(age), out var value);
        Assert.Equal(expectedSeconds, (long)value.TotalSeconds);
        Assert.Equal(expectedSeconds > 0, parsed);
    }

    [Theory]
    [InlineData("7200", "0", 7200)]
    [InlineData("0", "7200", 0)]
    public void Age_OnSeveralLines_TheFirstLineCounts_Rfc9111_5_1(string first, string second, long expectedSeconds)
    {
        Assert.True(Freshness.TryParseAge(new StringValues([first, second]), out var value));
        Assert.Equal(expectedSeconds, (long)value.TotalSeconds);
    }

    [Fact]
    public void MustUnderstand_KnowsStandardCodes_NotUnknownOnes_Rfc9111_5_2_2_3()
    {
        Assert.True(Freshness.IsUnderstoodStatus(200));
        Assert.True(Freshness.IsUnderstoodStatus(404));
        Assert.False(Freshness.IsUnderstoodStatus(599));
        Assert.False(Freshness.IsUnderstoodStatus(299));
    }
}
