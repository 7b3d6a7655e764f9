using CacheProxy.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Http;

public sealed class CacheControlTests
{
    private static CacheControl Parse(params string[] lines) => CacheControl.Parse(new StringValues(lines));

    [Fact]
    public void DirectiveNames_AreCaseInsensitive_Rfc9111_5_2()
    {
        var cc = Parse("Max-Age=60, NO-STORE, S-MaxAge=30");
        Assert.Equal(60, cc.MaxAge);
        Assert.Equal(30, cc.SharedMaxAge);
        Assert.True(cc.NoStore);
    }

    [Fact]
    public void FirstOccurrence_Wins_ForDuplicates_Rfc9111_4_2_1()
    {
        Assert.Equal(3600, Parse("max-age=3600, max-age=1").MaxAge);
        Assert.Equal(1, Parse("max-age=1", "max-age=3600").MaxAge);
    }

    [Fact]
    public void QuotedDeltaSeconds_AreAccepted()
    {
        Assert.Equal(3600, Parse("max-age=\"3600\"").MaxAge);
    }

    [Fact]
    public void DirectiveInsideQuotedString_IsNotADirective()
    {
        var cc = Parse("extension=\"max-age=3600\", max-age=1");
        Assert.Equal(1, cc.MaxAge);
        Assert.Equal(1, Parse("max-age=1, extension=\"max-age=3600\"").MaxAge);
    }

    [Theory]
    [InlineData("max-age='3600'")]
    [InlineData("max-age=a3600")]
    [InlineData("max-age=3600a")]
    [InlineData("max-age=3600.5")]
    [InlineData("max-age=-1")]
    [InlineData("max-age =3600")]
    [InlineData("max-age= 3600")]
    [InlineData("max-age")]
    public void InvalidDeltaSeconds_AreMarkedInvalid_SoTheResponseIsStale(string header)
    {
        Assert.Equal(CacheControl.Invalid, Parse(header).MaxAge);
    }

    [Fact]
    public void LeadingZeros_AreAllowed_AndHugeValues_AreCappedAt2Pow31_Rfc9111_1_2_2()
    {
        Assert.Equal(3600, Parse("max-age=003600").MaxAge);
        Assert.Equal(2147483648, Parse("max-age=99999999999999999999").MaxAge);
    }

    [Fact]
    public void FieldNames_OfNoCacheAndPrivate_AreKept_Rfc9111_5_2_2_4_And_5_2_2_7()
    {
        var cc = Parse("private=\"Set-Cookie, X-Secret\", no-cache=\"Foo\"");
        Assert.True(cc.Private);
        Assert.Equal(["Set-Cookie", "X-Secret"], cc.PrivateFields!);
        Assert.True(cc.NoCache);
        Assert.Equal(["Foo"], cc.NoCacheFields!);
    }

    [Fact]
    public void MaxStale_WithoutValue_AcceptsAnyStaleness_Rfc9111_5_2_1_2()
    {
        Assert.Equal(long.MaxValue, Parse("max-stale").MaxStale);
        Assert.Equal(10, Parse("max-stale=10").MaxStale);
        Assert.Equal(CacheControl.Absent, Parse("no-cache").MaxStale);
    }

    [Fact]
    public void RequestDirectives_AreRecognised_Rfc9111_5_2_1()
    {
        var cc = Parse("only-if-cached, min-fresh=5, no-transform, stale-if-error=20");
        Assert.True(cc.OnlyIfCached);
        Assert.True(cc.NoTransform);
        Assert.Equal(5, cc.MinFresh);
        Assert.Equal(20, cc.StaleIfError);
    }

    [Fact]
    public void ResponseDirectives_AreRecognised()
    {
        var cc = Parse("public, must-revalidate, proxy-revalidate, immutable, must-understand, stale-while-revalidate=30");
        Assert.True(cc.Public && cc.MustRevalidate && cc.ProxyRevalidate && cc.Immutable && cc.MustUnderstand);
        Assert.Equal(30, cc.StaleWhileRevalidate);
    }

    [Fact]
    public void EmptyOrMissing_IsNotPresent()
    {
        Assert.False(CacheControl.Parse(StringValues.Empty).Present);
        Assert.False(Parse(", ,").NoStore);
    }

    [Fact]
    public void SurrogateTargets_OtherTargetsAreSkipped_EdgeArchitecture()
    {
        var values = new StringValues("max-age=3600;not-for-you, no-store;CacheProxy");
        var cc = CacheControl.Parse(values, "CacheProxy");
        Assert.Equal(CacheControl.Absent, cc.MaxAge);
        Assert.True(cc.NoStore);
        Assert.Equal(60, CacheControl.Parse(new StringValues("max-age=60"), "CacheProxy").MaxAge);
    }
}
