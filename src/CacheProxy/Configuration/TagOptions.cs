namespace CacheProxy.Configuration;

/// <summary>Surrogate keys (tags) from upstream response headers (<c>CacheProxy:Tags</c>, docs/purge.md).</summary>
public sealed class TagOptions
{
    /// <summary>Gets or sets the response header whose space-separated values are tags (Fastly's convention).</summary>
    /// <value>An HTTP field name, or empty to ignore it. Default <c>Surrogate-Key</c>.</value>
    public string SurrogateKeyHeader { get; set; } = "Surrogate-Key";

    /// <summary>Gets or sets the response header whose comma-separated values are tags (Cloudflare's convention).</summary>
    /// <value>An HTTP field name, or empty to ignore it. Default <c>Cache-Tag</c>.</value>
    public string CacheTagHeader { get; set; } = "Cache-Tag";

    /// <summary>Gets or sets whether the tag headers are removed before the response reaches the client (and are not stored).</summary>
    /// <value>Default true.</value>
    public bool RemoveTagHeaders { get; set; } = true;

    /// <summary>Gets or sets how many tags one response may carry (headers and tag providers together); the rest are dropped.</summary>
    /// <value>1 to 1000. Default 64.</value>
    public int MaxTagsPerResponse { get; set; } = 64;

    /// <summary>Gets or sets the longest tag kept, in characters; longer ones are dropped.</summary>
    /// <value>1 to 1024. Default 128.</value>
    public int MaxTagLength { get; set; } = 128;
}
