using System.IO.Compression;
using System.Net;
using System.Text;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// A compressible identity response is stored for every Accept-Encoding class at its miss, compressed for br and gzip
/// by the first hit in each (in the background), and from then on every client gets the best representation its
/// Accept-Encoding allows, as a plain hit (<c>Compressor</c>, <c>DeferredCompression</c>, docs/caching.md).
/// </summary>
public sealed class CompressionTests
{
    private static readonly string Json = "[" + string.Join(",", Enumerable.Range(0, 400).Select(i => $"{{\"id\":{i},\"name\":\"item {i}\"}}")) + "]";

    private static Func<HttpContext, Task> Origin(string contentType = "application/json", string cacheControl = "max-age=600",
        string? contentEncoding = null, string body = "") => c =>
    {
        c.Response.Headers.CacheControl = cacheControl;
        c.Response.Headers.ETag = "\"v1\"";
        c.Response.ContentType = contentType;
        if (contentEncoding is not null)
        {
            c.Response.Headers.ContentEncoding = contentEncoding;
        }
        return c.Response.WriteAsync(body.Length > 0 ? body : Json);
    };

    private static byte[] Gzip(byte[] plain)
    {
        var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(plain);
        }
        return gzipped.ToArray();
    }

    private static async Task<string> DecodeAsync(HttpResponseMessage response)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        Stream body = new MemoryStream(bytes);
        body = response.Content.Headers.ContentEncoding.SingleOrDefault() switch
        {
            "br" => new BrotliStream(body, CompressionMode.Decompress),
            "gzip" => new GZipStream(body, CompressionMode.Decompress),
            null => body,
            var other => throw new InvalidDataException(other),
        };
        return await new StreamReader(body, Encoding.UTF8).ReadToEndAsync();
    }

    /// <summary>
    /// The first hit in <paramref name="coding"/> is served the identity body it was stored with, and compresses it
    /// for that class in the background; the hit after the compressed representation was stored.
    /// </summary>
    internal static async Task<HttpResponseMessage> CompressedHitAsync(ProxyFixture proxy, string path, string coding, string? acceptEncoding = null)
    {
        using var saved = proxy.Collect<long>("cacheproxy.compression.saved");
        var first = await proxy.GetAsync(path, ("Accept-Encoding", acceptEncoding ?? coding));
        Assert.StartsWith("CacheProxy; hit", first.CacheStatus(), StringComparison.Ordinal);
        Assert.Empty(first.Content.Headers.ContentEncoding);
        await Signal.WaitUntilAsync(() => saved.GetMeasurementSnapshot().Any(m => Equals(m.Tags["coding"], coding)));
        return await proxy.GetAsync(path, ("Accept-Encoding", acceptEncoding ?? coding));
    }

    [Fact]
    public async Task EachClientGetsTheBestStoredCoding_AllFromOneOriginRequest()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Origin();

        var miss = await proxy.GetAsync("/api", ("Accept-Encoding", "gzip, deflate, br"));
        var br = await CompressedHitAsync(proxy, "/api", "br", "gzip, deflate, br, zstd");
        var gzip = await CompressedHitAsync(proxy, "/api", "gzip");
        var identity = await proxy.GetAsync("/api");

        Assert.Equal(1, proxy.Origin.Calls);
        Assert.Contains("stored", miss.CacheStatus(), StringComparison.Ordinal);
        Assert.Empty(miss.Content.Headers.ContentEncoding); // the miss streams what the origin sent
        Assert.Equal(Json, await DecodeAsync(miss));
        foreach (var (response, coding) in new[] { (br, "br"), (gzip, "gzip") })
        {
            Assert.StartsWith("CacheProxy; hit", response.CacheStatus(), StringComparison.Ordinal);
            Assert.Equal(coding, response.Content.Headers.ContentEncoding.Single());
            Assert.Equal(Json, await DecodeAsync(response));
            Assert.True(response.Content.Headers.ContentLength < Json.Length / 4, $"{coding}: {response.Content.Headers.ContentLength}");
            Assert.Equal("W/\"v1\"", response.Headers.ETag!.ToString()); // other bytes: a weak validator
        }
        Assert.Empty(identity.Content.Headers.ContentEncoding);
        Assert.Equal("\"v1\"", identity.Headers.ETag!.ToString());
        Assert.Equal(Json, await DecodeAsync(identity));
        Assert.All([miss, br, gzip, identity], r => Assert.Contains("Accept-Encoding", r.Headers.Vary));
    }

    [Fact]
    public async Task AMiss_CompressesNothing_SoAForcedMissCostsNoCompression()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Origin();
        using var saved = proxy.Collect<long>("cacheproxy.compression.saved");

        for (var i = 0; i < 3; i++)
        {
            await proxy.GetAsync($"/api?random={i}", ("Accept-Encoding", "gzip, deflate, br"));
        }
        await proxy.WaitForLogAsync("ResponseStored", 3);

        Assert.Empty(saved.GetMeasurementSnapshot()); // before: br and gzip on every one of them
        Assert.Equal("br", (await CompressedHitAsync(proxy, "/api?random=0", "br")).Content.Headers.ContentEncoding.Single());
    }

    [Fact]
    public async Task ConditionalRequests_AnswerEachRepresentationWithItsOwnValidator()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Origin();
        await proxy.GetAsync("/api");
        await CompressedHitAsync(proxy, "/api", "br");
        await CompressedHitAsync(proxy, "/api", "gzip");

        var brMatch = await proxy.GetAsync("/api", ("Accept-Encoding", "br"), ("If-None-Match", "W/\"v1\""));
        var identityMatch = await proxy.GetAsync("/api", ("If-None-Match", "\"v1\""));
        var other = await proxy.GetAsync("/api", ("Accept-Encoding", "br"), ("If-None-Match", "\"v2\""));
        var head = await proxy.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api") { Headers = { { "Accept-Encoding", "gzip" } } });

        Assert.Equal(HttpStatusCode.NotModified, brMatch.StatusCode);
        Assert.Equal("W/\"v1\"", brMatch.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.NotModified, identityMatch.StatusCode);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal("br", other.Content.Headers.ContentEncoding.Single());
        Assert.Equal("gzip", head.Content.Headers.ContentEncoding.Single());
        Assert.True(head.Content.Headers.ContentLength is > 0 and < 4000);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ARangeOfACompressedRepresentation_IsARangeOfItsEncodedBytes()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Origin();
        await proxy.GetAsync("/api");
        var whole = await (await CompressedHitAsync(proxy, "/api", "gzip")).Content.ReadAsByteArrayAsync();

        var range = await proxy.GetAsync("/api", ("Accept-Encoding", "gzip"), ("Range", "bytes=0-9"));

        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(whole[..10], await range.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 0-9/{whole.Length}", range.Content.Headers.ContentRange!.ToString());
    }

    [Theory]
    [InlineData("application/json", "max-age=600, no-transform", null, "no-transform")]
    [InlineData("image/png", "max-age=600", null, "not a compressible type")]
    [InlineData("application/json", "max-age=600", "small", "below MinimumSize")]
    public async Task ResponsesNotToCompress_AreStoredAndServedAsTheyCame(string contentType, string cacheControl, string? small, string why)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = Origin(contentType, cacheControl, body: small ?? "");

        await proxy.GetAsync("/r", ("Accept-Encoding", "br"));
        var hit = await proxy.GetAsync("/r", ("Accept-Encoding", "br"));

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.True(hit.Content.Headers.ContentEncoding.Count == 0, why);
        Assert.Equal(small ?? Json, await hit.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AResponseTheOriginEncoded_IsStoredAsItCame_NeverInflated()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var gzipped = Gzip(Encoding.UTF8.GetBytes(Json));
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ContentEncoding = "gzip";
            c.Response.ContentType = "application/json";
            return c.Response.Body.WriteAsync(gzipped).AsTask();
        };

        await proxy.GetAsync("/enc", ("Accept-Encoding", "gzip"));
        var hit = await proxy.GetAsync("/enc", ("Accept-Encoding", "gzip"));

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(gzipped, await hit.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ARouteCanTurnCompressionOff()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new RouteCacheOptions { Compression = { Enabled = false } });
        proxy.Origin.Handler = Origin();

        await proxy.GetAsync("/api", ("Accept-Encoding", "br"));
        var hit = await proxy.GetAsync("/api", ("Accept-Encoding", "br"));

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Empty(hit.Content.Headers.ContentEncoding);
        Assert.DoesNotContain("Accept-Encoding", hit.Headers.Vary);
    }

    [Fact]
    public async Task CompressedRepresentations_AreSharedThroughRedis()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = Origin();
        await using var a = await Redis.RedisTierTests.GatewayAsync(origin, redis.Endpoint);
        await using var b = await Redis.RedisTierTests.GatewayAsync(origin, redis.Endpoint);
        await Redis.RedisTierTests.WaitForRedisAsync(a);
        await Redis.RedisTierTests.WaitForRedisAsync(b);

        await a.GetAsync("/api", ("Accept-Encoding", "gzip"));
        await Redis.RedisTierTests.WaitForStoredAsync(a, 1); // identity, under each class's key, in one write
        await CompressedHitAsync(b, "/api", "br"); // b's first hit compresses it, into Redis
        var br = await a.GetAsync("/api", ("Accept-Encoding", "br")); // a hears it was replaced, and reads it there

        Assert.StartsWith("CacheProxy; hit", br.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("br", br.Content.Headers.ContentEncoding.Single());
        Assert.Equal(Json, await DecodeAsync(br));
        Assert.Equal(1, origin.Calls);
    }

    [Fact]
    public async Task AResponseTheOriginGzippedWithoutVary_NeverReachesAClientThatCannotReadIt()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var plain = Encoding.UTF8.GetBytes(Json);
        var gzipped = Gzip(plain);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600"; // and no Vary, as many origins do
            c.Response.ContentType = "application/octet-stream";
            var gzip = c.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.Ordinal);
            if (gzip)
            {
                c.Response.Headers.ContentEncoding = "gzip";
            }
            return c.Response.Body.WriteAsync(gzip ? gzipped : plain).AsTask();
        };

        var first = await proxy.GetAsync("/z", ("Accept-Encoding", "gzip"));
        var plainClient = await proxy.GetAsync("/z");
        var gzipHit = await proxy.GetAsync("/z", ("Accept-Encoding", "gzip, deflate"));
        var plainHit = await proxy.GetAsync("/z", ("Accept-Encoding", "identity"));

        Assert.Contains("Accept-Encoding", first.Headers.Vary); // said for the origin, for caches further down
        Assert.Empty(plainClient.Content.Headers.ContentEncoding);
        Assert.Equal(plain, await plainClient.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("CacheProxy; hit", gzipHit.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("gzip", gzipHit.Content.Headers.ContentEncoding.Single());
        Assert.StartsWith("CacheProxy; hit", plainHit.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(plain, await plainHit.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task ARoutesOwnTypesAndMinimumSize_ReplaceTheGlobalOnes()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Routes["all"] = new RouteCacheOptions
        {
            Compression = { Types = ["application/x-custom"], MinimumSize = 100, BrotliQuality = 11 },
        });
        var custom = new string('a', 200);
        proxy.Origin.Handler = c => c.Request.Path == "/custom"
            ? Origin("application/x-custom", body: custom)(c)
            : Origin()(c); // JSON: compressible globally, not on this route

        await proxy.GetAsync("/custom");
        await proxy.GetAsync("/json");
        var customHit = await CompressedHitAsync(proxy, "/custom", "br");
        await proxy.GetAsync("/json", ("Accept-Encoding", "br"));
        var jsonHit = await proxy.GetAsync("/json", ("Accept-Encoding", "br"));

        Assert.Equal("br", customHit.Content.Headers.ContentEncoding.Single()); // 200 bytes: above the route's 100
        Assert.Equal(custom, await DecodeAsync(customHit));
        Assert.StartsWith("CacheProxy; hit", jsonHit.CacheStatus(), StringComparison.Ordinal);
        Assert.Empty(jsonHit.Content.Headers.ContentEncoding);
    }
}
