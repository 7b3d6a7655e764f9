using CacheProxy.Caching;
using Microsoft.AspNetCore.Http;

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

    private static DefaultHttpContext Request(string host, string pathBase, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "HTTP";
        context.Request.Host = new HostString(host);
        context.Request.PathBase = pathBase;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        return context;
    }

    [Theory]
    [InlineData("Example.COM:8080", "", "/a/B", "?q=1&r=%20")]
    [InlineData("h", "/base", "/", "")]
    public void TryWrite_WritesTheSameKeyAsBuild(string host, string pathBase, string path, string query)
    {
        var request = Request(host, pathBase, path, query).Request;
        Span<char> buffer = stackalloc char[256];

        var length = CacheKey.TryWrite(request, buffer);

        Assert.Equal(CacheKey.Build(request), new string(buffer[..length]));
    }

    [Fact]
    public void TryWrite_ReportsTheLengthOfAKeyThatDoesNotFit_AndMinusOneForNoKey()
    {
        var request = Request("h", "", "/" + new string('a', 300), "").Request;
        var buffer = new char[256];

        Assert.Equal(CacheKey.Build(request)!.Length, CacheKey.TryWrite(request, buffer));
        Assert.All(buffer, c => Assert.Equal('\0', c));
        Assert.Equal(-1, CacheKey.TryWrite(Request("h", "", "/a\u001Fb", "").Request, buffer));
    }
}
