using System.Net;
using CacheProxy.Caching;
using CacheProxy.Http;
using CacheProxy.Storage;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// 206 responses are stored as the part they carry, answer the ranges within it, and combine with further parts of
/// the same representation (RFC 9111 §3.3–3.4; <c>PartialContent</c>, docs/caching.md "Partial content").
/// </summary>
public sealed class PartialContentTests
{
    private const string Body = "0123456789";

    /// <summary>An origin that serves single ranges of <paramref name="body"/> itself, with the entity tag <paramref name="etag"/>().</summary>
    private static Func<HttpContext, Task> RangeOrigin(Func<string?> etag, string body = Body, string cacheControl = "max-age=600") => c =>
    {
        c.Response.Headers.CacheControl = cacheControl;
        c.Response.ContentType = "application/octet-stream";
        if (etag() is { } tag)
        {
            c.Response.Headers.ETag = tag;
            if (c.Request.Headers.IfNoneMatch == tag)
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
        }
        var ifRange = c.Request.Headers.IfRange;
        if ((StringValues.IsNullOrEmpty(ifRange) || ifRange == etag())
            && ByteRange.Resolve(c.Request.Headers.Range, body.Length, out var start, out var count) == ByteRange.Outcome.Partial)
        {
            c.Response.StatusCode = StatusCodes.Status206PartialContent;
            c.Response.Headers.ContentRange = $"bytes {start}-{start + count - 1}/{body.Length}";
            c.Response.ContentLength = count;
            return c.Response.WriteAsync(body.Substring((int)start, (int)count));
        }
        c.Response.ContentLength = body.Length;
        return c.Response.WriteAsync(body);
    };

    private static async Task AssertPartAsync(HttpResponseMessage response, string text, string contentRange)
    {
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(text, await response.Content.ReadAsStringAsync());
        Assert.Equal(contentRange, response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task AStoredPart_AnswersTheRangesWithinIt_AndOnlyThose()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"");

        await AssertPartAsync(await proxy.GetAsync("/p", ("Range", "bytes=2-6")), "23456", "bytes 2-6/10");
        var within = await proxy.GetAsync("/p", ("Range", "bytes=3-5"));
        var suffixWithin = await proxy.GetAsync("/p", ("Range", "bytes=4-6"));

        await AssertPartAsync(within, "345", "bytes 3-5/10");
        Assert.StartsWith("CacheProxy; hit", within.CacheStatus());
        await AssertPartAsync(suffixWithin, "456", "bytes 4-6/10");
        Assert.Equal(1, proxy.Origin.Calls);

        // Beyond the part, or a HEAD, or the whole: the origin answers, never the part in their place.
        await AssertPartAsync(await proxy.GetAsync("/p", ("Range", "bytes=6-8")), "678", "bytes 6-8/10");
        var head = await proxy.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/p"));
        var whole = await proxy.GetAsync("/p");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.Contains("fwd=miss", whole.CacheStatus());
        Assert.Equal(4, proxy.Origin.Calls);
    }

    [Fact]
    public async Task SeveralRanges_AreForwarded_EvenWithinAStoredPart()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"");

        await proxy.GetAsync("/m", ("Range", "bytes=0-8"));
        var several = await proxy.GetAsync("/m", ("Range", "bytes=1-2,4-5"));

        Assert.Contains("fwd=miss", several.CacheStatus());
        Assert.Equal("bytes=1-2,4-5", proxy.Origin.Seen.Last().Headers["Range"].Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PartsOfOneRepresentation_Combine_IntoTheCompleteResponse()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"");

        await proxy.GetAsync("/c", ("Range", "bytes=0-3"));
        await proxy.GetAsync("/c", ("Range", "bytes=7-9"));  // not adjacent: replaces the first part
        await proxy.GetAsync("/c", ("Range", "bytes=2-6"));  // adjacent to 7-9: joined to 2-9
        var joined = await proxy.GetAsync("/c", ("Range", "bytes=3-8"));
        await proxy.GetAsync("/c", ("Range", "bytes=0-1")); // joined to 0-9: the complete response
        var whole = await proxy.GetAsync("/c");
        var range = await proxy.GetAsync("/c", ("Range", "bytes=-4"));

        await AssertPartAsync(joined, "345678", "bytes 3-8/10");
        Assert.StartsWith("CacheProxy; hit", joined.CacheStatus());
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.StartsWith("CacheProxy; hit", whole.CacheStatus());
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.Null(whole.Content.Headers.ContentRange);
        Assert.Equal("\"v1\"", whole.Headers.ETag?.ToString());
        await AssertPartAsync(range, "6789", "bytes 6-9/10");
        Assert.Equal(4, proxy.Origin.Calls);
    }

    [Fact]
    public async Task PartsOfDifferentContentCodings_AreNotCombined_EvenWithOneEntityTag()
    {
        // An origin that gives a gzip part and an identity part the same entity tag (RFC 9110 says it must not):
        // joined, the bytes would be half compressed. Both fit a client that accepts gzip, so both are stored for it.
        await using var proxy = await ProxyFixture.StartAsync();
        var gzip = true;
        var range = RangeOrigin(() => "\"v1\"");
        proxy.Origin.Handler = c =>
        {
            if (gzip)
            {
                c.Response.Headers.ContentEncoding = "gzip";
            }
            return range(c);
        };

        var first = await proxy.GetAsync("/coded", ("Range", "bytes=0-4"), ("Accept-Encoding", "gzip"));
        gzip = false;
        var rest = await proxy.GetAsync("/coded", ("Range", "bytes=5-9"), ("Accept-Encoding", "gzip"));
        var whole = await proxy.GetAsync("/coded", ("Accept-Encoding", "gzip"));

        Assert.Contains("stored", first.CacheStatus(), StringComparison.Ordinal);
        Assert.Contains("stored", rest.CacheStatus(), StringComparison.Ordinal); // replacing the gzip part, not joined to it
        Assert.DoesNotContain("hit", whole.CacheStatus(), StringComparison.Ordinal);
        Assert.Empty(whole.Content.Headers.ContentEncoding);
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("\"v1\"", "\"v2\"")]   // another representation
    [InlineData("W/\"v1\"", "W/\"v1\"")] // weak: not proof of the same bytes (RFC 9110 §8.8.3.2)
    [InlineData(null, null)]            // no validator at all
    public async Task PartsWithoutTheSameStrongValidator_AreNotCombined(string? first, string? second)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var tag = first;
        proxy.Origin.Handler = RangeOrigin(() => tag);

        await proxy.GetAsync("/v", ("Range", "bytes=0-4"));
        tag = second;
        await proxy.GetAsync("/v", ("Range", "bytes=5-9"));
        var whole = await proxy.GetAsync("/v");
        var secondPart = await proxy.GetAsync("/v", ("Range", "bytes=6-7"));

        Assert.Contains("fwd=miss", whole.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", secondPart.CacheStatus()); // the newer part replaced the older
        Assert.Equal(3, proxy.Origin.Calls);
    }

    [Theory]
    [InlineData("bytes 4-9/10", "01234", true)]  // six bytes said, five sent (the cache-tests suite's partial-store-partial-* 206)
    [InlineData("bytes 4-9/10", "01234", false)] // the same, chunked: found short at the end
    [InlineData("bytes 0-4/*", "01234", true)]   // complete length unknown
    [InlineData("items 0-4/10", "01234", true)]  // another unit
    public async Task A206WeCannotPlace_IsPassedOn_NotStored(string contentRange, string body, bool contentLength)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = StatusCodes.Status206PartialContent;
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ContentRange = contentRange;
            c.Response.ContentLength = contentLength ? body.Length : null;
            return c.Response.WriteAsync(body);
        };

        var first = await proxy.GetAsync("/bad", ("Range", "bytes=-5"));
        var again = await proxy.GetAsync("/bad", ("Range", "bytes=-5"));

        Assert.Equal(HttpStatusCode.PartialContent, first.StatusCode);
        Assert.Equal(body, await first.Content.ReadAsStringAsync());
        if (contentLength)
        {
            Assert.Equal("CacheProxy; fwd=miss; fwd-status=206", first.CacheStatus()); // refused before the first byte
        }
        Assert.Contains("fwd=miss", again.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task AStalePart_IsValidatedForTheRangeItAnswers()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"", cacheControl: "max-age=60");

        await proxy.GetAsync("/s", ("Range", "bytes=2-6"));
        proxy.Time.Advance(TimeSpan.FromSeconds(120));
        var revalidated = await proxy.GetAsync("/s", ("Range", "bytes=3-4"));

        await AssertPartAsync(revalidated, "34", "bytes 3-4/10");
        Assert.Contains("fwd=stale; fwd-status=304", revalidated.CacheStatus());
        var sent = proxy.Origin.Seen.Last().Headers;
        Assert.Equal("\"v1\"", sent["If-None-Match"]);
        Assert.Equal("bytes=3-4", sent["Range"]);
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/s", ("Range", "bytes=2-2"))).CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task AnIfRangeThatNoLongerHolds_IsNotAnsweredFromThePart()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v2\"");

        await proxy.GetAsync("/i", ("Range", "bytes=2-6"));
        var stale = await proxy.GetAsync("/i", ("Range", "bytes=3-5"), ("If-Range", "\"v1\""));
        var current = await proxy.GetAsync("/i", ("Range", "bytes=3-5"), ("If-Range", "\"v2\""));

        Assert.Equal(HttpStatusCode.OK, stale.StatusCode); // the client's copy changed: the whole representation
        Assert.Equal(Body, await stale.Content.ReadAsStringAsync());
        await AssertPartAsync(current, "345", "bytes 3-5/10");
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task HundredsOfTinyRanges_CostNoMoreThanTheWhole()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var body = new string('x', 4000);
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"", body);
        await proxy.GetAsync("/many");

        var ranges = "bytes=" + string.Join(",", Enumerable.Range(0, 500).Select(i => $"{i * 8}-{i * 8}"));
        var response = await proxy.GetAsync("/many", ("Range", ranges));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // RFC 9110 §14.2: ignoring Range is always allowed
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.StartsWith("CacheProxy; hit", response.CacheStatus());
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Theory]
    [InlineData("bytes=0-3", "bytes=4-9")]  // the start stored: the rest
    [InlineData("bytes=-4", "bytes=0-5")]   // the end stored: the start
    public async Task AWholeRequest_AsksOnlyForTheRestOfAStoredPart_AndStoresTheWhole(string stored, string asked)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "\"v1\"");

        await proxy.GetAsync("/w", ("Range", stored));
        var whole = await proxy.GetAsync("/w");
        var again = await proxy.GetAsync("/w");

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.Null(whole.Content.Headers.ContentRange);
        Assert.Equal("CacheProxy; fwd=miss; fwd-status=206; stored", whole.CacheStatus());
        var sent = proxy.Origin.Seen.Last().Headers;
        Assert.Equal(asked, sent["Range"]);
        Assert.Equal("\"v1\"", sent["If-Range"]);
        Assert.StartsWith("CacheProxy; hit", again.CacheStatus());
        Assert.Equal(Body, await again.Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ACompletion_ThatFindsTheRepresentationChanged_PassesOnTheNewWhole()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var tag = "\"v1\"";
        proxy.Origin.Handler = RangeOrigin(() => tag);

        await proxy.GetAsync("/n", ("Range", "bytes=0-3"));
        tag = "\"v2\"";
        var whole = await proxy.GetAsync("/n");

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.Equal("\"v2\"", whole.Headers.ETag?.ToString());
        Assert.Equal("CacheProxy; fwd=miss; fwd-status=200; stored", whole.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/n")).CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ACompletion_AnsweredWithAnotherPart_IsAskedAgainAsTheClientSentIt()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var range = RangeOrigin(() => "\"v1\"");
        proxy.Origin.Handler = c =>
        {
            if (c.Request.Headers.Range == "bytes=4-9")
            {
                c.Request.Headers.Range = "bytes=2-9"; // an origin that sends more than it was asked for
            }
            return range(c);
        };

        await proxy.GetAsync("/o", ("Range", "bytes=0-3"));
        var whole = await proxy.GetAsync("/o");

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.Equal(3, proxy.Origin.Calls);
        var retry = proxy.Origin.Seen.Last().Headers;
        Assert.False(retry.ContainsKey("Range"));
        Assert.False(retry.ContainsKey("If-Range"));
    }

    [Fact]
    public async Task APartWithoutAStrongValidator_IsNotCompleted()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = RangeOrigin(() => "W/\"v1\"");

        await proxy.GetAsync("/x", ("Range", "bytes=0-4"));
        var whole = await proxy.GetAsync("/x");

        Assert.Equal(Body, await whole.Content.ReadAsStringAsync());
        Assert.False(proxy.Origin.Seen.Last().Headers.ContainsKey("Range"));
    }

    [Theory]
    [InlineData("bytes 0-4/10", 0, 4, 10)]
    [InlineData("BYTES  5-9/10", 5, 9, 10)]
    [InlineData("bytes 0-0/1", 0, 0, 1)]
    public void ContentRange_IsRead_Rfc9110_14_4(string value, long first, long last, long complete)
    {
        Assert.True(StoredPart.TryParse(value, out var part));
        Assert.Equal(new StoredPart(first, last, complete), part);
    }

    [Theory]
    [InlineData("bytes 4-9/*")]
    [InlineData("bytes */10")]
    [InlineData("bytes 5-4/10")]
    [InlineData("bytes 0-10/10")]
    [InlineData("bytes -1-4/10")]
    [InlineData("bytes 0-4/10, bytes 5-9/10")]
    [InlineData("bytes 0-99999999999999999999/1")]
    [InlineData("")]
    public void ContentRange_ThatPlacesNoPart_IsRefused(string value)
    {
        Assert.False(StoredPart.TryParse(value, out _));
    }

    [Theory]
    [InlineData(0, 4, 5, 9, 0, 9)]  // adjacent, in order
    [InlineData(5, 9, 0, 4, 0, 9)]  // adjacent, reversed
    [InlineData(2, 6, 4, 8, 2, 8)]  // overlapping
    [InlineData(0, 9, 3, 4, 0, 9)]  // within
    public void Parts_Combine_ByteForByte(long s1, long e1, long s2, long e2, long first, long last)
    {
        var stored = Part(s1, e1, "\"x\"");
        var combined = PartialContent.Combine(stored, Part(s2, e2, "\"x\""), new StoredPart(s2, e2, 10), long.MaxValue);

        Assert.NotNull(combined);
        Assert.Equal(Body[(int)first..(int)(last + 1)], System.Text.Encoding.ASCII.GetString(combined.Body.Span));
        var whole = first == 0 && last == 9;
        Assert.Equal(whole ? 200 : 206, combined.StatusCode);
        Assert.Equal(whole ? StringValues.Empty : new StringValues($"bytes {first}-{last}/10"), combined.GetHeader("Content-Range"));
    }

    [Theory]
    [InlineData(0, 3, 5, 9, "\"x\"", 100)] // a gap
    [InlineData(0, 4, 5, 9, "\"y\"", 100)] // another entity tag
    [InlineData(0, 4, 5, 9, "\"x\"", 9)]   // the joined body over the size limit
    public void Parts_ThatCannotCombine_AreNot(long s1, long e1, long s2, long e2, string etag, long maxObjectSize)
    {
        Assert.Null(PartialContent.Combine(Part(s1, e1, "\"x\""), Part(s2, e2, etag), new StoredPart(s2, e2, 10), maxObjectSize));
    }

    private static CacheEntry Part(long first, long last, string etag) => new()
    {
        StatusCode = 206,
        Headers = [new("ETag", etag), new("Content-Range", $"bytes {first}-{last}/10")],
        Body = System.Text.Encoding.ASCII.GetBytes(Body[(int)first..(int)(last + 1)]),
    };
}
