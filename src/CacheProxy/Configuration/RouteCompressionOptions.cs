namespace CacheProxy.Configuration;

/// <summary>A route's compression settings (<c>CacheProxy:Routes:{routeId}:Compression</c>); null follows <see cref="CompressionOptions"/>.</summary>
public sealed class RouteCompressionOptions
{
    /// <summary>Gets or sets whether the route's stored responses are compressed.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Gets or sets the smallest body compressed.</summary>
    public long? MinimumSize { get; set; }

    /// <summary>Gets or sets the media types compressed (exact, <c>type/*</c>, <c>*+suffix</c>).</summary>
    public string[]? Types { get; set; }

    /// <summary>Gets or sets Brotli's quality, 0 to 11.</summary>
    public int? BrotliQuality { get; set; }

    /// <summary>Gets or sets gzip's level.</summary>
    public System.IO.Compression.CompressionLevel? GzipLevel { get; set; }
}
