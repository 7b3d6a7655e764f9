namespace CacheProxy.Configuration;

/// <summary>What a route answers when image parameters are not allowed (<see cref="RouteImageOptions.OnInvalid"/>).</summary>
public enum ImageParameterFailure
{
    /// <summary>400 problem+json naming the parameter.</summary>
    BadRequest = 0,

    /// <summary>The original image, as if no parameter had been given.</summary>
    Original,
}

/// <summary>
/// A route's image variants (<c>CacheProxy:Routes:{id}:Images</c>, docs/images.md): AVIF or WebP for clients that
/// accept them, resized by URL parameters, each made once and stored like any response. Needs <c>AddImages()</c>
/// (package CacheProxy.Images).
/// </summary>
public sealed class RouteImageOptions
{
    /// <summary>Gets or sets whether the route's images get variants.</summary>
    /// <value>Default false.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets whether clients that accept AVIF get it.</summary>
    /// <value>Default true.</value>
    public bool Avif { get; set; } = true;

    /// <summary>Gets or sets whether clients that accept WebP (and not AVIF, or with AVIF off) get it.</summary>
    /// <value>Default true.</value>
    public bool WebP { get; set; } = true;

    /// <summary>
    /// Gets the widths <c>w</c> may ask for; empty: no resizing by width unless requests are signed. Heights
    /// (<c>h</c>) are allowed only signed.
    /// </summary>
    public IList<int> Widths { get; } = [];

    /// <summary>
    /// Gets or sets the key that signs image parameters (HMAC-SHA256 of the path and the parameters, <c>s=</c>, as
    /// imgproxy does); a signed request may ask for any size up to <see cref="MaxWidth"/>.
    /// </summary>
    /// <value>Null (default): no signing; at least 32 characters when set.</value>
    public string? SigningKey { get; set; }

    /// <summary>Gets or sets what a request with parameters that are not allowed (or a bad signature) gets.</summary>
    /// <value>Default <see cref="ImageParameterFailure.BadRequest"/>.</value>
    public ImageParameterFailure OnInvalid { get; set; }

    /// <summary>Gets or sets the largest width or height a variant may have.</summary>
    /// <value>Default 4096; 16 to 16384.</value>
    public int MaxWidth { get; set; } = 4096;

    /// <summary>Gets or sets the quality of variants when <c>q</c> is not given.</summary>
    /// <value>Default 75; 1 to 100.</value>
    public int Quality { get; set; } = 75;

    /// <summary>Gets or sets the most pixels a source may have (read from its header, before decoding); a larger one passes as it is.</summary>
    /// <value>Default 40,000,000; 1 to 268,402,689.</value>
    public long MaxPixels { get; set; } = 40_000_000;

    /// <summary>Gets or sets whether EXIF, XMP and IPTC metadata (GPS included) are kept in variants.</summary>
    /// <value>Default false: stripped; the orientation is applied to the pixels and the colour profile converted to sRGB either way.</value>
    public bool KeepMetadata { get; set; }

    /// <summary>
    /// Gets or sets whether, once a source is fetched and stored for one request, the variants of every width in
    /// <see cref="Widths"/> for that request's class are made from the same bytes at once, in the background, and
    /// stored, so that their first requests are hits. Made only while a transform slot is free: live requests come first.
    /// </summary>
    /// <value>Default false: each variant is made on its first request.</value>
    public bool Eager { get; set; }
}
