using System.Text;
using CacheProxy.Esi;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Esi;

/// <summary>The ESI parser, test expressions and the assembled freshness, on their own.</summary>
public sealed class EsiParsingTests
{
    private static EsiTemplate Parse(string page) => EsiTemplate.Parse(Encoding.UTF8.GetBytes(page));

    [Theory]
    [InlineData("<esi:unknown src=\"x\"/>", "is not an instruction")]
    [InlineData("<esi:include src=\"/a\"", "without its end")]
    [InlineData("<esi:vars>never closed", "without </esi:vars>")]
    [InlineData("<!--esi never closed", "without -->")]
    [InlineData("</esi:choose>", "without its start tag")]
    [InlineData("<esi:choose><esi:when test=\"1 ==\">x</esi:when></esi:choose>", "esi:when test")]
    public void WhatTheParserDoesNotUnderstand_IsReported_AndLeftAsText(string page, string error)
    {
        var template = Parse(page);

        Assert.Contains(template.Errors, e => e.Contains(error, StringComparison.Ordinal));
        Assert.Equal(0, template.Includes);
    }

    [Fact]
    public void NestingPastTheBound_IsLeftAsText_NotARecursionWithoutEnd()
    {
        var deep = string.Concat(Enumerable.Repeat("<esi:vars>", 10_000)) + "x" + string.Concat(Enumerable.Repeat("</esi:vars>", 10_000));

        var template = Parse(deep);

        Assert.Contains(template.Errors, e => e.Contains("nested deeper than", StringComparison.Ordinal));
    }

    [Fact]
    public void LiteralChunks_AreSlicesOfTheStoredBody_NotCopies()
    {
        var body = Encoding.UTF8.GetBytes("<p>a</p><esi:include src=\"/f\"/><p>b</p>");

        var template = EsiTemplate.Parse(body);

        var first = Assert.IsType<EsiLiteral>(template.Nodes[0]);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(first.Bytes, out var segment));
        Assert.Same(body, segment.Array);
        Assert.Equal(1, template.Includes);
        Assert.Empty(template.Errors);
    }

    [Theory]
    [InlineData("$(QUERY_STRING{a}) == 'x'", "a=x", true)]
    [InlineData("$(QUERY_STRING{a}) != 'x'", "a=x", false)]
    [InlineData("$(QUERY_STRING{n}) > 9", "n=10", true)] // numbers compare as numbers
    [InlineData("'10' > '9'", "", true)] // quoted numbers are numbers too
    [InlineData("'abc' < 'abd'", "", true)] // text compares ordinally
    [InlineData("$(QUERY_STRING{a}) == 'x' | $(QUERY_STRING{b}) == 'y'", "b=y", true)]
    [InlineData("$(QUERY_STRING{a}) == 'x' & $(QUERY_STRING{b}) == 'y'", "b=y", false)]
    [InlineData("!($(QUERY_STRING{a}) == 'x') && $(QUERY_STRING{b})", "b=1", true)]
    [InlineData("$(QUERY_STRING{missing}|'d') == 'd'", "", true)]
    [InlineData("$(HTTP_ACCEPT_LANGUAGE{de})", "", true)]
    [InlineData("$(HTTP_ACCEPT_LANGUAGE{fr})", "", false)]
    [InlineData("1 ==", "", false)] // does not parse: never holds
    public void Tests_Evaluate(string test, string query, bool holds)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?" + query);
        context.Request.Headers.AcceptLanguage = "en-GB, de-AT;q=0.5, fr;q=0";

        var expression = EsiExpression.Parse(test, out _);

        Assert.Equal(holds, expression.Holds(context.Request, []));
    }

    [Fact]
    public void TheAssembledFreshness_IsTheStrictestPart()
    {
        Assert.Equal("private, max-age=50", EsiAssembler.Strictest([("public, max-age=3600", 100), ("private, max-age=60", 10)]));
        Assert.Equal("no-store", EsiAssembler.Strictest([("max-age=3600", 0), ("no-store", 0), ("private", 0)]));
        Assert.Equal("no-cache, max-age=0", EsiAssembler.Strictest([("max-age=3600", 0), ("no-cache", 0)]));
        Assert.Equal("max-age=0", EsiAssembler.Strictest([("max-age=3600", 0), (StringValues.Empty, 0)])); // no max-age: 0
        Assert.Equal("max-age=0", EsiAssembler.Strictest([("max-age=10", 20)])); // past it: 0, not negative
    }
}
