using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Text;
using CacheProxy.Configuration;
using CacheProxy.Images;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.Extensions.DependencyInjection;
using NetVips;

namespace CacheProxy.Tests.Images;

/// <summary>Image variants through the real gateway, with images the tests make (docs/images.md).</summary>
public sealed class ImageTests
{
    private const string Avif = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"; // Chrome's
    private const string SigningKey = "an-image-signing-key-0123456789abcdef";

    /// <summary>A JPEG of noise (so it does not compress to nothing), optionally with EXIF orientation and an artist tag.</summary>
    internal static byte[] Jpeg(int width, int height, int? orientation = null)
    {
        using var noise = Image.Gaussnoise(width, height, mean: 128, sigma: 40).Cast(Enums.BandFormat.Uchar);
        using var rgb = noise.Bandjoin(noise.Rot180().Resize(1), noise.Flip(Enums.Direction.Horizontal));
        using var tagged = rgb.Mutate(m =>
        {
            m.Set(GValue.GStrType, "exif-ifd0-Artist", "gps-and-artist (ASCII, 15 components, 15 bytes)");
            if (orientation is { } o)
            {
                m.Set(GValue.GIntType, "orientation", o);
            }
        });
        return tagged.JpegsaveBuffer(q: 90);
    }

    private static byte[] Png(int width, int height)
    {
        using var image = (Image.Black(width, height, bands: 3) + 200).Cast(Enums.BandFormat.Uchar);
        return image.PngsaveBuffer();
    }

    /// <summary>A PNG whose header says 50,000 x 50,000 pixels, with a few bytes of data: what a decompression bomb looks like before decoding.</summary>
    internal static byte[] PngBomb()
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, 50_000);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), 50_000);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(png, "IHDR", ihdr);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(new byte[64 * 1024]); // the start of the first rows: a bomb's data is small and inflates hugely
        }
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();

        static void Chunk(Stream png, string type, byte[] data)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
            png.Write(length);
            var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(typeAndData);
            BinaryPrimitives.WriteUInt32BigEndian(length, System.IO.Hashing.Crc32.HashToUInt32(typeAndData));
            png.Write(length);
        }
    }

    private static async Task<ProxyFixture> StartAsync(Action<RouteImageOptions>? images = null, Action<ImageTransformOptions>? bounds = null)
    {
        var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            o.MaxObjectSize = 32 * 1024 * 1024; // a source of several MB is held whole
            var route = o.Routes["all"] = new RouteCacheOptions();
            route.Images.Enabled = true;
            route.Images.Widths.Add(320);
            images?.Invoke(route.Images);
        }, mapManagement: true, features: b => b.AddImages(bounds));
        return proxy;
    }

    /// <summary>The origin serves <paramref name="images"/> by path, cacheable for ten minutes, and records the Accept it was asked with.</summary>
    private static void Serve(ProxyFixture proxy, params (string Path, byte[] Body, string Type)[] images) => proxy.Origin.Handler = async c =>
    {
        var (_, body, type) = images.Single(i => i.Path == c.Request.Path);
        c.Response.Headers.CacheControl = "public, max-age=600";
        c.Response.ContentType = type;
        c.Response.ContentLength = body.Length;
        await c.Response.Body.WriteAsync(body);
    };

    private static async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(ProxyFixture proxy, string path, string? accept = null)
    {
        var response = await proxy.GetAsync(path, accept is null ? [] : [("Accept", accept)]);
        return (response, await response.Content.ReadAsByteArrayAsync());
    }

    private static Image Decode(byte[] body) => Image.NewFromBuffer(body);

    [Fact]
    public async Task EachClient_GetsTheFormatItsAcceptAllows_KeyedOnTheClassNotTheAcceptString()
    {
        await using var proxy = await StartAsync();
        var jpeg = Jpeg(800, 600);
        Serve(proxy, ("/photo.jpg", jpeg, "image/jpeg"));

        var (avif, avifBody) = await GetAsync(proxy, "/photo.jpg", Avif);
        var (firefox, _) = await GetAsync(proxy, "/photo.jpg", "image/avif,image/webp,*/*"); // another spelling, the same class
        var (webp, webpBody) = await GetAsync(proxy, "/photo.jpg", "image/webp,*/*");
        var (plain, plainBody) = await GetAsync(proxy, "/photo.jpg", "*/*");

        Assert.Equal("image/avif", avif.Content.Headers.ContentType?.MediaType);
        using (var decoded = Decode(avifBody))
        {
            Assert.Equal((800, 600), (decoded.Width, decoded.Height));
            Assert.StartsWith("heifload", (string)decoded.Get("vips-loader"), StringComparison.Ordinal);
        }
        Assert.StartsWith("CacheProxy; hit", firefox.CacheStatus());
        Assert.Equal("image/webp", webp.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("webpload", (string)Decode(webpBody).Get("vips-loader"), StringComparison.Ordinal);
        Assert.Equal(jpeg, plainBody); // the original class: the origin's bytes as they came
        Assert.All(new[] { avif, webp, plain, firefox }, r => Assert.Contains("Accept", r.Headers.Vary));
        Assert.True(avifBody.Length < jpeg.Length && webpBody.Length < jpeg.Length);
        Assert.Equal(3, proxy.Origin.Calls); // one fetch per class
        Assert.All(proxy.Origin.Seen, r => Assert.DoesNotContain("avif", r.Headers["Accept"], StringComparison.Ordinal)); // the origin is asked for the original
    }

    [Fact]
    public async Task AnAllowedWidth_IsMadeOnce_AndOthersAreRefused_OrServedTheOriginalWhenTheRouteSaysSo()
    {
        await using var proxy = await StartAsync();
        var jpeg = Jpeg(1000, 500);
        Serve(proxy, ("/wide.jpg", jpeg, "image/jpeg"));

        var (small, smallBody) = await GetAsync(proxy, "/wide.jpg?w=320", "image/webp");
        var (again, _) = await GetAsync(proxy, "/wide.jpg?w=320", "image/webp");
        var (refused, _) = await GetAsync(proxy, "/wide.jpg?w=321", Avif); // a browser's Accept: the problem+json is acceptable
        var (unsigned, _) = await GetAsync(proxy, "/wide.jpg?w=320&h=100", Avif);

        using (var decoded = Decode(smallBody))
        {
            Assert.Equal((320, 160), (decoded.Width, decoded.Height));
        }
        Assert.StartsWith("CacheProxy; hit", again.CacheStatus());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("w=321 is not one of Images:Widths", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unsigned.StatusCode);

        await using var lenient = await StartAsync(i => i.OnInvalid = ImageParameterFailure.Original);
        Serve(lenient, ("/wide.jpg", jpeg, "image/jpeg"));
        var (original, originalBody) = await GetAsync(lenient, "/wide.jpg?w=999", "*/*");
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal(jpeg, originalBody);
    }

    [Fact]
    public async Task SignedParameters_AskForAnySize_AndABadSignatureIsRefused()
    {
        await using var proxy = await StartAsync(i => i.SigningKey = SigningKey);
        Serve(proxy, ("/crop.jpg", Jpeg(1200, 800), "image/jpeg"));
        var signature = ImageSigning.Sign(SigningKey, "/crop.jpg", width: 500, height: 300, fit: "cover", quality: 60);

        var (cropped, body) = await GetAsync(proxy, $"/crop.jpg?w=500&h=300&fit=cover&q=60&s={signature}", "image/webp");
        var (tampered, _) = await GetAsync(proxy, $"/crop.jpg?w=501&h=300&fit=cover&q=60&s={signature}", Avif);

        Assert.Equal(HttpStatusCode.OK, cropped.StatusCode);
        using (var decoded = Decode(body))
        {
            Assert.Equal((500, 300), (decoded.Width, decoded.Height));
        }
        Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);
        Assert.Contains("signature does not match", await tampered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Variants_AreTurnedByTheirOrientation_AndLoseTheirExif()
    {
        await using var proxy = await StartAsync();
        var jpeg = Jpeg(400, 200, orientation: 6); // to be shown turned a quarter: 200 wide, 400 high
        using (var source = Decode(jpeg))
        {
            Assert.True(source.Contains("exif-data"));
        }
        Serve(proxy, ("/turned.jpg", jpeg, "image/jpeg"));

        var (_, body) = await GetAsync(proxy, "/turned.jpg", "image/webp");

        using var variant = Decode(body);
        Assert.Equal((200, 400), (variant.Width, variant.Height));
        Assert.False(variant.Contains("exif-data"));
        Assert.DoesNotContain("gps-and-artist", Encoding.ASCII.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADecompressionBomb_IsRefusedByItsHeader_AndPassesAsItCame_NotStored()
    {
        await using var proxy = await StartAsync();
        using var transforms = proxy.Collect<long>("cacheproxy.images.transforms");
        var bomb = PngBomb();
        Serve(proxy, ("/bomb.png", bomb, "image/png"));

        var (first, body) = await GetAsync(proxy, "/bomb.png", Avif);
        var (second, _) = await GetAsync(proxy, "/bomb.png", Avif);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(bomb, body);
        Assert.DoesNotContain("stored", first.CacheStatus());
        Assert.DoesNotContain("hit", second.CacheStatus());
        Assert.Contains(transforms.GetMeasurementSnapshot(), m => Equals(m.Tags["outcome"], "too_many_pixels"));
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ImageServedOriginal" && r.Message.Contains("50000 x 50000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATruncatedJpeg_AndNonsense_PassAsTheyCame()
    {
        await using var proxy = await StartAsync();
        using var transforms = proxy.Collect<long>("cacheproxy.images.transforms");
        var jpeg = Jpeg(600, 400);
        var truncated = jpeg[..(jpeg.Length / 2)];
        var nonsense = Encoding.ASCII.GetBytes("<html>not an image at all</html>");
        Serve(proxy, ("/cut.jpg", truncated, "image/jpeg"), ("/fake.png", nonsense, "image/png"));

        var (cut, cutBody) = await GetAsync(proxy, "/cut.jpg", "image/webp");
        var (fake, fakeBody) = await GetAsync(proxy, "/fake.png", "image/webp");

        Assert.Equal(truncated, cutBody);
        Assert.Equal("image/jpeg", cut.Content.Headers.ContentType?.MediaType);
        Assert.Equal(nonsense, fakeBody);
        Assert.Equal(HttpStatusCode.OK, fake.StatusCode);
        Assert.Equal(2, transforms.GetMeasurementSnapshot().Count(m => Equals(m.Tags["outcome"], "malformed")));
    }

    [Fact]
    public async Task APolyglot_IsReencoded_SoWhatRodeAlongIsGone()
    {
        await using var proxy = await StartAsync();
        var polyglot = Jpeg(300, 200).Concat(Encoding.ASCII.GetBytes("<script>alert('polyglot')</script>")).ToArray();
        Serve(proxy, ("/poly.jpg", polyglot, "image/jpeg"));

        var (webp, body) = await GetAsync(proxy, "/poly.jpg", "image/webp");

        Assert.Equal("image/webp", webp.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("<script>", Encoding.ASCII.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVariantNoSmallerThanItsSource_IsTheSource()
    {
        await using var proxy = await StartAsync();
        var tiny = Png(2, 2); // a few dozen bytes: AVIF's container alone is more
        Serve(proxy, ("/tiny.png", tiny, "image/png"));

        var (response, body) = await GetAsync(proxy, "/tiny.png", Avif);

        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(tiny, body);
        Assert.Contains("stored", response.CacheStatus()); // the source is this variant's answer
    }

    [Fact]
    public async Task PurgingTheSource_DropsItsVariants()
    {
        await using var proxy = await StartAsync();
        Serve(proxy, ("/purged.jpg", Jpeg(640, 480), "image/jpeg"));
        await GetAsync(proxy, "/purged.jpg?w=320", Avif);
        await GetAsync(proxy, "/purged.jpg", "image/webp");
        proxy.Time.Advance(TimeSpan.FromSeconds(1)); // the purge comes after the fills (the ledger orders them by time)

        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { urls = new[] { new Uri(proxy.Client.BaseAddress!, "/purged.jpg").ToString() } })).EnsureSuccessStatusCode();
        var (resized, _) = await GetAsync(proxy, "/purged.jpg?w=320", Avif);
        var (webp, _) = await GetAsync(proxy, "/purged.jpg", "image/webp");

        Assert.DoesNotContain("hit", resized.CacheStatus());
        Assert.DoesNotContain("hit", webp.CacheStatus());
        Assert.Equal(4, proxy.Origin.Calls);
    }

    [Fact]
    public async Task AVariantRefreshedInTheBackground_IsMadeAgain_NotReplacedByItsSource()
    {
        await using var proxy = await StartAsync();
        var jpeg = Jpeg(640, 480);
        proxy.Origin.Handler = async c =>
        {
            c.Response.Headers.CacheControl = "public, max-age=10, stale-while-revalidate=600";
            c.Response.ContentType = "image/jpeg";
            await c.Response.Body.WriteAsync(jpeg);
        };

        await GetAsync(proxy, "/refreshed.jpg?w=320", "image/webp");
        proxy.Time.Advance(TimeSpan.FromSeconds(20));
        var (stale, _) = await GetAsync(proxy, "/refreshed.jpg?w=320", "image/webp");
        await proxy.WaitForRefreshesAsync();
        var (refreshed, body) = await GetAsync(proxy, "/refreshed.jpg?w=320", "image/webp");

        Assert.Contains("stale-while-revalidate", stale.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", refreshed.CacheStatus());
        Assert.Equal(2, proxy.Origin.Calls);
        Assert.Equal("image/webp", refreshed.Content.Headers.ContentType?.MediaType);
        using var decoded = Decode(body);
        Assert.Equal(320, decoded.Width);
    }

    [Fact]
    public async Task EagerVariants_OfEveryWidth_AreMadeFromTheSourceFetchedOnce_ForTheClassAskedFor()
    {
        await using var proxy = await StartAsync(images: i =>
        {
            i.Eager = true;
            i.Widths.Add(160); // and 320
        });
        using var eager = proxy.Collect<long>("cacheproxy.images.eager");
        Serve(proxy, ("/eager.jpg", Jpeg(640, 480), "image/jpeg"));

        var (first, _) = await GetAsync(proxy, "/eager.jpg?w=320", "image/webp");
        await eager.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));
        var (other, body) = await GetAsync(proxy, "/eager.jpg?w=160", "image/webp");
        var made = eager.GetMeasurementSnapshot(); // before the AVIF request below makes its own class's widths
        var (avif, _) = await GetAsync(proxy, "/eager.jpg?w=160", Avif);

        Assert.Contains("stored", first.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", other.CacheStatus()); // made when the source came, not on its own first request
        Assert.Equal("image/webp", other.Content.Headers.ContentType?.MediaType);
        using (var decoded = Decode(body))
        {
            Assert.Equal((160, 120), (decoded.Width, decoded.Height));
        }
        Assert.DoesNotContain("hit", avif.CacheStatus()); // another class: made on its own request
        Assert.Equal(2, proxy.Origin.Calls);
        Assert.Equal("stored", Assert.Single(made).Tags["outcome"]);
    }

    [Fact]
    public async Task EagerVariants_AreMadeAgain_WhenTheSourceIsRefreshed()
    {
        await using var proxy = await StartAsync(images: i => i.Eager = true);
        using var eager = proxy.Collect<long>("cacheproxy.images.eager");
        var source = Jpeg(640, 480);
        proxy.Origin.Handler = async c =>
        {
            c.Response.Headers.CacheControl = "public, max-age=10, stale-while-revalidate=600";
            c.Response.ContentType = "image/jpeg";
            await c.Response.Body.WriteAsync(Volatile.Read(ref source));
        };

        await GetAsync(proxy, "/changing.jpg", "*/*"); // the original class: stored as it came, and w=320 made of it
        await eager.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));
        Volatile.Write(ref source, Jpeg(640, 160)); // the origin's image changes
        proxy.Time.Advance(TimeSpan.FromSeconds(20));
        await GetAsync(proxy, "/changing.jpg", "*/*"); // stale: served, and refreshed in the background
        await proxy.WaitForRefreshesAsync();
        await eager.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30));
        var (resized, body) = await GetAsync(proxy, "/changing.jpg?w=320", "*/*");

        Assert.StartsWith("CacheProxy; hit", resized.CacheStatus());
        Assert.Equal("image/jpeg", resized.Content.Headers.ContentType?.MediaType);
        using var decoded = Decode(body);
        Assert.Equal((320, 80), (decoded.Width, decoded.Height)); // made of the new source
        Assert.Equal(2, proxy.Origin.Calls);
    }

    [Fact]
    public async Task EagerVariants_YieldTheSlotsToRequests_AndAreMadeOnTheirOwnRequestLater()
    {
        await using var proxy = await StartAsync(images: i => i.Eager = true, bounds: b => (b.MaxConcurrent, b.MaxQueue) = (1, 1));
        var transformer = proxy.Services.GetRequiredService<ImageTransformer>();
        using var eager = proxy.Collect<long>("cacheproxy.images.eager");
        Serve(proxy, ("/small.jpg", Jpeg(640, 480), "image/jpeg"));

        var occupied = await transformer.OccupyAsync(); // the one slot, taken as a variant being made takes it
        var (original, _) = await GetAsync(proxy, "/small.jpg", "*/*"); // stored as it came; its eager w=320 finds no free slot
        await proxy.WaitForLogAsync("ImageEagerVariantsStopped");
        occupied.Dispose();
        var (resized, body) = await GetAsync(proxy, "/small.jpg?w=320", "*/*");

        Assert.Contains("stored", original.CacheStatus());
        Assert.Equal("skipped", Assert.Single(eager.GetMeasurementSnapshot()).Tags["outcome"]);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ImageEagerVariantsStopped" && r.Message.Contains("slots", StringComparison.Ordinal));
        Assert.Contains("stored", resized.CacheStatus()); // made on its own first request
        Assert.Equal(320, Decode(body).Width);
    }

    [Fact]
    public async Task ATransformPastItsTimeout_IsStoppedMidWork_AndTheOriginalPasses()
    {
        await using var proxy = await StartAsync(bounds: b => b.Timeout = TimeSpan.FromMilliseconds(100));
        var large = Jpeg(2000, 2000); // an AVIF of it takes about a second: the request stops waiting at 100 ms
        Serve(proxy, ("/slow.jpg", large, "image/jpeg"));

        var (response, body) = await GetAsync(proxy, "/slow.jpg", Avif);
        var (again, _) = await GetAsync(proxy, "/slow.jpg", Avif);

        Assert.Equal(large, body);
        Assert.DoesNotContain("stored", response.CacheStatus());
        Assert.DoesNotContain("hit", again.CacheStatus()); // not stored: the next request tries again
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ImageServedOriginal" && r.Message.Contains("Timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PastTheQueue_TheOriginalIsServed_NotStored()
    {
        await using var proxy = await StartAsync(bounds: b => (b.MaxConcurrent, b.MaxQueue) = (1, 0));
        var transformer = proxy.Services.GetRequiredService<ImageTransformer>();
        var small = Jpeg(400, 300);
        Serve(proxy, ("/small.jpg", small, "image/jpeg"));

        using var occupied = await transformer.OccupyAsync(); // the one slot, taken as a variant being made takes it
        var (busy, busyBody) = await GetAsync(proxy, "/small.jpg", Avif);

        Assert.Equal(small, busyBody);
        Assert.Equal("image/jpeg", busy.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("stored", busy.CacheStatus());
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ImageServedOriginal" && r.Message.Contains("waiting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ImagesWithoutAddImages_AndAShortSigningKey_AreRefusedAtStartup()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o =>
        {
            var route = o.Routes["all"] = new RouteCacheOptions();
            route.Images.Enabled = true;
            route.Images.SigningKey = "short";
        }));

        Assert.Contains("CacheProxy:Routes:all:Images:Enabled needs AddImages()", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Routes:all:Images:SigningKey must be at least 32 characters", error.Message, StringComparison.Ordinal);
    }
}
