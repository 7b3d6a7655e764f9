namespace CacheProxy.Images;

/// <summary>The class of representation a client gets: what the key holds instead of its Accept field.</summary>
internal enum ImageClass
{
    Original,
    WebP,
    Avif,
}

/// <summary>What a request on an image route asks for: the class its Accept (or <c>format</c>) chose, and the parameters allowed.</summary>
internal sealed record ImageRequest(ImageClass Class, int? Width, int? Height, bool Cover, int? Quality)
{
    /// <summary>Gets whether the origin's bytes answer it as they are: the original class, no parameter.</summary>
    public bool AsIs => Class == ImageClass.Original && Width is null && Height is null && Quality is null;

    /// <summary>Gets where in the request context's keyed values its value is (or, for <see cref="AsIs"/>, would be).</summary>
    public int KeyPosition { get; init; }

    /// <summary>Gets the origin's bytes and type while a fetched source waits to be made into eager variants (<c>Images:Eager</c>).</summary>
    public (byte[] Body, string ContentType)? Source { get; init; }

    /// <summary>Gets whether it asks for a class and an allowed width only: the request eager variants are made for.</summary>
    public bool Plain => Height is null && Quality is null && !Cover;

    /// <summary>Gets the value it adds to the key: the class and the parameters, in one spelling.</summary>
    public string KeyValue => $"{Class.ToString().ToLowerInvariant()};w={Width};h={Height};fit={(Cover ? "cover" : "contain")};q={Quality}";
}
