using CacheProxy.Caching;

namespace CacheProxy.Tests.Caching;

public sealed class CacheKeyTests
{
    [Fact]
    public void SchemeAndHost_AreCaseInsensitive_PathAndQueryAreNot()
    {
        Assert.Equal(CacheKey.Build("HTTP", "Example.COM", "", "/a", "?q=1"), CacheKey.Build("http", "example.com", "", "/a", "?q=1"));
        Assert.NotEqual(CacheKey.Build("http", "h", "", "/A", ""), CacheKey.Build("http", "h", "", "/a", ""));
        Assert.NotEqual(CacheKey.Build("http", "h", "", "/a", "?q=1"), CacheKey.Build("http", "h", "", "/a", "?q=2"));
    }

    [Fact]
    public void HostIsPartOfTheKey()
    {
        Assert.NotEqual(CacheKey.Build("http", "a.example", "", "/", ""), CacheKey.Build("http", "b.example", "", "/", ""));
    }

    [Theory]
    [InlineData("/a\u001Fb", "")]
    [InlineData("/a", "?x=\u001E")]
    public void InputWithControlCharacters_IsNotCacheable(string path, string query)
    {
        Assert.Null(CacheKey.Build("http", "h", "", path, query));
    }

    [Fact]
    public void Hash_IsStableAndDoesNotContainTheKey()
    {
        var key = CacheKey.Build("http", "h", "", "/secret", "?token=abc")!;
        Assert.Equal(CacheKey.Hash(key), CacheKey.Hash(key));
        Assert.DoesNotContain("secret", CacheKey.Hash(key));
        Assert.Equal(16, CacheKey.Hash(key).Length);
    }
}
