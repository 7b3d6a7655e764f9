namespace CacheProxy.Caching;

/// <summary>
/// The Cache-Status member values (RFC 9211) of responses that went upstream or around the cache; those of stored
/// responses are <see cref="ServedAs.Member"/>'s. The cache's name (<c>CacheProxy:CacheStatusName</c>) is prepended
/// by <see cref="Value"/>.
/// </summary>
internal static class CacheStatus
{
    public const string Hit = "hit";
    public const string PolicyBypass = "fwd=bypass; detail=policy";
    public const string UnsafeMethod = "fwd=bypass; detail=method";
    public const string OtherMethod = "fwd=method";
    public const string UncacheableKey = "fwd=bypass; detail=uncacheable-key";
    public const string RequestContent = "fwd=bypass; detail=request-content";
    public const string GraphQLPassed = "fwd=bypass; detail=graphql";
    public const string OnlyIfCached = "fwd=miss; detail=only-if-cached";

    /// <summary>Nothing stored, and the key's last response said it is not to be shared: passed upstream (<see cref="HitForPass"/>).</summary>
    public const string HitForPass = "fwd=bypass; detail=hit-for-pass";

    /// <summary>A request that waited for a fetch of its key that got no answer: it shares that fetch's error.</summary>
    public const string CollapsedError = "fwd=miss; detail=collapsed-error";

    private static HitValue? s_hit; // replaced as a whole, so a reader never pairs one name with another's value

    /// <summary>The member for a response that went upstream: why, what came back, whether it was stored.</summary>
    public static string Forwarded(string reason, int status, bool stored) =>
        $"fwd={reason}; fwd-status={status}{(stored ? "; stored" : string.Empty)}";

    /// <summary>The whole field value; the plain hit's is built once per cache name, so a hit allocates no string for it.</summary>
    public static string Value(string name, string member)
    {
        if (!ReferenceEquals(member, Hit))
        {
            return string.Concat(name, "; ", member);
        }
        var cached = Volatile.Read(ref s_hit);
        if (cached is null || !ReferenceEquals(cached.Name, name))
        {
            cached = new HitValue(name, string.Concat(name, "; ", Hit));
            Volatile.Write(ref s_hit, cached);
        }
        return cached.Value;
    }

    private sealed record HitValue(string Name, string Value);
}
