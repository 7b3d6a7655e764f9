using CacheProxy.Http;

namespace CacheProxy.Tests.Http;

/// <summary>RFC 9110 §12.5.3 over the codings the cache keeps: br, gzip, identity.</summary>
public sealed class AcceptEncodingTests
{
    [Theory]
    [InlineData(null, "identity")] // no field: identity is what every client reads
    [InlineData("", "identity")]
    [InlineData("gzip", "gzip")]
    [InlineData("gzip, deflate, br", "br")] // a tie: br first
    [InlineData("gzip, deflate, br, zstd", "br")]
    [InlineData("GZIP", "gzip")] // codings are case-insensitive
    [InlineData("x-gzip", "gzip")]
    [InlineData("br;q=0.5, gzip;q=0.8", "gzip")] // the higher q wins
    [InlineData("br;q=0.8, gzip;q=0.8", "br")]
    [InlineData("br;q=0, gzip", "gzip")] // q=0: not acceptable
    [InlineData("br;q=0, gzip;q=0", "identity")]
    [InlineData("deflate", "identity")] // a coding the cache does not keep
    [InlineData("*", "br")] // any coding: the best one
    [InlineData("*;q=0.5, gzip", "gzip")] // named beats "*" by q
    [InlineData("*;q=0", "identity")] // refuses everything, identity too: served identity anyway (406 is not worth it)
    [InlineData("identity;q=0, gzip;q=0.1", "gzip")]
    [InlineData("identity, gzip;q=0.5", "identity")] // identity's q is higher
    [InlineData("identity;q=0.5, gzip;q=0.5, br;q=0.4", "gzip")]
    [InlineData("br;q=1.0", "br")]
    [InlineData("br;q=0.001", "br")]
    [InlineData(" gzip ;q=0.7 ,, br;q=0.2 ", "gzip")] // whitespace and empty elements
    [InlineData("br;q=2", "identity")] // an invalid q-value: the field is not understood
    [InlineData("br;q=abc", "identity")]
    [InlineData("br;level=5", "identity")] // parameters other than q are not defined for codings
    [InlineData("br;q=0.12345", "identity")] // at most three decimals
    public void Class_IsTheCodingTheRequestIsServed(string? field, string expected) =>
        Assert.Equal(expected, AcceptEncoding.Class(field));

    [Fact]
    public void Class_ReadsEveryLineOfTheField() =>
        Assert.Equal("br", AcceptEncoding.Class(new Microsoft.Extensions.Primitives.StringValues(["gzip;q=0.5", "br"])));

    [Theory]
    [InlineData(null, "gzip, br", true)] // identity: every client reads it
    [InlineData("identity", "gzip", true)]
    [InlineData("br", "gzip, br", true)]
    [InlineData("gzip", "gzip", true)]
    [InlineData("gzip", "gzip, br", false)] // a client of the br class may accept br only
    [InlineData("gzip", "deflate", false)]
    [InlineData("deflate", "deflate", false)] // not a coding the cache keys on
    public void FitsClass_TellsWhetherAResponseCanServeEveryRequestOfTheKey(string? contentEncoding, string acceptEncoding, bool expected) =>
        Assert.Equal(expected, AcceptEncoding.FitsClass(contentEncoding, acceptEncoding));
}
