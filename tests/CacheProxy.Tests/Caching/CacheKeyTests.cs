using CacheProxy.Caching;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Caching;

public sealed class CacheKeyTests
{
    private static readonly CacheKey Keys = new([]);

    private static string? Build(string scheme, string host, string pathBase, string path, string query)
    {
        var context = Request(host, pathBase, path, query);
        context.Request.Scheme = scheme;
        return Keys.Build(context);
    }

    [Fact]
    public void SchemeAndHost_AreCaseInsensitive_PathAndQueryAreNot()
    {
        Assert.Equal(Build("HTTP", "Example.COM", "", "/a", "?q=1"), Build("http", "example.com", "", "/a", "?q=1"));
        Assert.NotEqual(Build("http", "h", "", "/A", ""), Build("http", "h", "", "/a", ""));
        Assert.NotEqual(Build("http", "h", "", "/a", "?q=1"), Build("http", "h", "", "/a", "?q=2"));
    }

    [Fact]
    public void HostIsPartOfTheKey()
    {
        Assert.NotEqual(Build("http", "a.example", "", "/", ""), Build("http", "b.example", "", "/", ""));
    }

    [Theory]
    [InlineData("/a\u001Fb", "")]
    [InlineData("/a", "?x=\u001E")]
    public void InputWithControlCharacters_IsNotCacheable(string path, string query)
    {
        Assert.Null(Build("http", "h", "", path, query));
    }

    [Fact]
    public void Hash_IsStableAndDoesNotContainTheKey()
    {
        var key = Build("http", "h", "", "/secret", "?token=abc")!;
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

        Assert.Equal(Keys.Build(request.HttpContext), new string(buffer[..length]));
    }

    [Fact]
    public void TryWrite_ReportsTheLengthOfAKeyThatDoesNotFit_AndMinusOneForNoKey()
    {
        var request = Request("h", "", "/" + new string('a', 300), "").Request;
        var buffer = new char[256];

        Assert.Equal(Keys.Build(request.HttpContext)!.Length, CacheKey.TryWrite(request, buffer));
        Assert.All(buffer, c => Assert.Equal('\0', c));
        Assert.Equal(-1, CacheKey.TryWrite(Request("h", "", "/a\u001Fb", "").Request, buffer));
    }
}
