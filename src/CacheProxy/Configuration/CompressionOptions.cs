using System.IO.Compression;

namespace CacheProxy.Configuration;

/// <summary>
/// Compression of stored responses (<c>CacheProxy:Compression</c>): an identity response of a compressible type is
/// stored once more in br and once more in gzip, when it is stored, and every client is served the best of the three
/// its Accept-Encoding allows, at the cost of a plain hit. docs/caching.md.
/// </summary>
public sealed class CompressionOptions
{
    /// <summary>Gets or sets whether stored responses are compressed. A route can turn it off (<see cref="RouteCacheOptions.Compression"/>).</summary>
    /// <value>Default true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets the smallest body that is compressed; smaller ones gain less than their headers cost.</summary>
    /// <value>Bytes, 0 or more (above <see cref="CacheProxyOptions.MaxObjectSize"/>: never). Default 1024.</value>
    public long MinimumSize { get; set; } = 1024;

    /// <summary>
    /// Gets or sets the media types that are compressed: exact (<c>application/json</c>), a whole type
    /// (<c>text/*</c>) or a structured suffix (<c>*+json</c>). Replaced as a whole by configuration.
    /// </summary>
    public string[] Types { get; set; } =
    [
        "text/*", "application/json", "application/javascript", "application/x-javascript", "application/ecmascript",
        "application/xml", "application/xhtml+xml", "application/rss+xml", "application/atom+xml", "application/wasm",
        "image/svg+xml", "image/x-icon", "font/ttf", "font/otf", "*+json", "*+xml",
    ];

    /// <summary>Gets or sets Brotli's quality: higher is smaller and slower to compress (never to serve).</summary>
    /// <value>0 to 11. Default 5.</value>
    public int BrotliQuality { get; set; } = 5;

    /// <summary>Gets or sets gzip's level.</summary>
    /// <value>Default <see cref="CompressionLevel.Optimal"/>.</value>
    public CompressionLevel GzipLevel { get; set; } = CompressionLevel.Optimal;
}
