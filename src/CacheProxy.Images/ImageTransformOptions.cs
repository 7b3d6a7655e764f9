namespace CacheProxy.Configuration;

/// <summary>
/// Bounds on making image variants (<c>CacheProxy:Images</c>, package CacheProxy.Images, docs/images.md); which
/// routes make them and how is <see cref="RouteImageOptions"/>.
/// </summary>
public sealed class ImageTransformOptions
{
    /// <summary>Gets or sets how many variants are made at once; more wait in the queue.</summary>
    /// <value>Default: the processor count; 1 to 256.</value>
    public int MaxConcurrent { get; set; } = Environment.ProcessorCount;

    /// <summary>Gets or sets how many variants may wait for one of those slots; past it the original is served, not stored.</summary>
    /// <value>Default 32; 0 to 10,000.</value>
    public int MaxQueue { get; set; } = 32;

    /// <summary>Gets or sets how long one variant may take, waiting included; past it the original is served, not stored.</summary>
    /// <value>Default 10 seconds; 100 ms to 5 minutes.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
