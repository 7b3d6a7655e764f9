using System.Buffers;
using System.IO.Compression;
using CacheProxy.Configuration;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// Compression of stored responses (<see cref="CompressionOptions"/>): whether an upstream response is one to
/// compress, and its br and gzip representations, made once when it is stored, into pooled buffers. The
/// representations are stored as variants of the URL keyed on the Accept-Encoding class (<see cref="Variants"/>),
/// so a hit in br is an ordinary hit.
/// </summary>
internal sealed class Compressor(LastGoodOptions options)
{
    /// <summary>The classes each compressed response is stored under, with the coding each one is served.</summary>
    public static readonly string[] Classes = [AcceptEncoding.Identity, AcceptEncoding.Gzip, AcceptEncoding.Brotli];

    /// <summary>
    /// Whether the response (headers only, before its body) is one to compress: compression on for the route, a 200
    /// without Content-Encoding, no <c>no-transform</c>, a compressible type, and a length not known to be below the minimum.
    /// </summary>
    public bool Applies(CacheContext context, HttpResponse response) => Applies(For(context.RouteId), response.StatusCode,
        response.Headers.ContentEncoding, response.ContentType, response.Headers.CacheControl, response.ContentLength)
        && !NegotiatesEsi(response.Headers[CacheProxyHeaderNames.SurrogateControl]);

    /// <summary>Whether a stored response is one to compress for <paramref name="routeId"/>, by the same rule as an upstream one.</summary>
    public bool Applies(string routeId, CacheEntry entry) => Applies(For(routeId), entry.StatusCode, entry.GetHeader(HeaderNames.ContentEncoding),
        entry.GetHeader(HeaderNames.ContentType).ToString(), entry.GetHeader(HeaderNames.CacheControl), entry.Body.Length)
        && !NegotiatesEsi(entry.GetHeader(CacheProxyHeaderNames.SurrogateControl));

    /// <summary>A page that asks for ESI processing is stored as it came: its template is what gets parsed (docs/esi.md).</summary>
    private static bool NegotiatesEsi(StringValues surrogateControl)
    {
        foreach (var value in surrogateControl)
        {
            if (value is not null && value.Contains("ESI/1.0", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Applies(Settings settings, int status, StringValues contentEncoding, string? contentType, StringValues cacheControl, long? length) =>
        settings.Enabled && StringValues.IsNullOrEmpty(contentEncoding) && !(length < settings.MinimumSize)
        && status == StatusCodes.Status200OK && IsCompressible(contentType, settings.Types) && !CacheControl.Parse(cacheControl).NoTransform;

    /// <summary>The compression settings in force for a route: its own, each unset one from the global ones.</summary>
    public Settings For(string routeId)
    {
        var current = options.Current;
        var global = current.Compression;
        if (!current.Routes.TryGetValue(routeId, out var route))
        {
            return new(global.Enabled, global.MinimumSize, global.Types, global.BrotliQuality, global.GzipLevel);
        }
        var own = route.Compression;
        return new(own.Enabled ?? global.Enabled, own.MinimumSize ?? global.MinimumSize, own.Types ?? global.Types,
            own.BrotliQuality ?? global.BrotliQuality, own.GzipLevel ?? global.GzipLevel);
    }

    /// <summary>Compression settings resolved for one route.</summary>
    internal readonly record struct Settings(bool Enabled, long MinimumSize, string[] Types, int BrotliQuality, CompressionLevel GzipLevel);

    /// <summary>Whether <paramref name="contentType"/>'s media type is on the list (exact, <c>type/*</c> or <c>*+suffix</c>).</summary>
    public static bool IsCompressible(string? contentType, string[] types)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }
        var semicolon = contentType.IndexOf(';');
        var mediaType = (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
        var slash = mediaType.IndexOf('/');
        var plus = mediaType.LastIndexOf('+');
        foreach (var type in types)
        {
            if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase)
                || (type.EndsWith("/*", StringComparison.Ordinal) && slash > 0 && mediaType.AsSpan(0, slash + 1).Equals(type.AsSpan(0, type.Length - 1), StringComparison.OrdinalIgnoreCase))
                || (type.StartsWith("*+", StringComparison.Ordinal) && plus > slash && mediaType.AsSpan(plus).Equals(type.AsSpan(1), StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// <paramref name="identity"/> in <paramref name="coding"/> (<c>br</c> or <c>gzip</c>): its body compressed,
    /// Content-Encoding set and a strong ETag made weak (RFC 9110 §8.8.3: the bytes differ, the meaning does not), or
    /// null when compressing does not make it smaller.
    /// </summary>
    public static CacheEntry? Encode(CacheEntry identity, string coding, Settings settings)
    {
        var body = identity.Body.Span;
        var buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        try
        {
            var written = coding == AcceptEncoding.Brotli ? Brotli(body, buffer, settings.BrotliQuality) : Gzip(body, buffer, settings.GzipLevel);
            if (written <= 0 || written >= body.Length)
            {
                return null;
            }
            var headers = new List<KeyValuePair<string, StringValues>>(identity.Headers.Count + 1);
            foreach (var header in identity.Headers)
            {
                headers.Add(header.Key.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase) && header.Value.ToString() is { } tag && tag.StartsWith('"')
                    ? new(header.Key, "W/" + tag)
                    : header);
            }
            headers.Add(new(HeaderNames.ContentEncoding, coding));
            return new CacheEntry
            {
                StatusCode = identity.StatusCode,
                Headers = headers,
                Body = buffer.AsSpan(0, written).ToArray(),
                RequestTime = identity.RequestTime,
                ResponseTime = identity.ResponseTime,
                FreshnessOverride = identity.FreshnessOverride,
                Tags = identity.Tags,
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Bytes written to <paramref name="destination"/>, or 0 when they do not fit (not worth it).</summary>
    private static int Brotli(ReadOnlySpan<byte> source, byte[] destination, int quality)
    {
        using var encoder = new BrotliEncoder(quality, window: 22);
        var status = encoder.Compress(source, destination, out _, out var written, isFinalBlock: true);
        return status == OperationStatus.Done ? written : 0;
    }

    private static int Gzip(ReadOnlySpan<byte> source, byte[] destination, CompressionLevel level)
    {
        var stream = new MemoryStream(destination, writable: true);
        try
        {
            using (var gzip = new GZipStream(stream, level, leaveOpen: true))
            {
                gzip.Write(source);
            }
            return (int)stream.Position;
        }
        catch (NotSupportedException)
        {
            return 0; // it grew past the buffer: larger than the body
        }
    }
}
