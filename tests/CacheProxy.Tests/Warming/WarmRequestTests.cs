using System.Net;
using CacheProxy.Warming;

namespace CacheProxy.Tests.Warming;

/// <summary>A warming request goes to the gateway's own endpoint whatever the URL looks like (docs/security.md).</summary>
public sealed class WarmRequestTests
{
    private static readonly Uri Target = new("http://127.0.0.1:5080/");

    [Theory]
    [InlineData("http://www.example.test/a?b=1", "/a?b=1", "www.example.test")]
    [InlineData("http://www.example.test//evil.test:81/x", "//evil.test:81/x", "www.example.test")]
    [InlineData("http://www.example.test/%2F%2Fevil.test/x", "/%2F%2Fevil.test/x", "www.example.test")]
    [InlineData("http://www.example.test/a/../../..//evil.test/", "//evil.test/", "www.example.test")]
    [InlineData("http://www.example.test/\\\\evil.test/x", "///evil.test/x", "www.example.test")]
    [InlineData("http://user:secret@evil.test:81/x", "/x", "evil.test:81")]
    [InlineData("http://evil.test@www.example.test/x", "/x", "www.example.test")]
    [InlineData("https://www.example.test:8443/x", "/x", "www.example.test:8443")]
    [InlineData("http://bücher.example/x", "/x", "xn--bcher-kva.example")]
    [InlineData("http://[::1]:81/x", "/x", "[::1]:81")]
    [InlineData("http://www.example.test/x?next=http://evil.test/", "/x?next=http://evil.test/", "www.example.test")]
    public void TheRequest_GoesToTheTarget_WithTheUrlsPathQueryAndHost(string url, string pathAndQuery, string host)
    {
        Assert.True(CacheProxy.Http.HttpUrl.TryParse(url, out var parsed));

        using var request = WarmRequest.For(Target, parsed, HttpVersion.Version11, out var refused);

        Assert.Null(refused);
        Assert.NotNull(request);
        Assert.Equal("http://127.0.0.1:5080", request.RequestUri!.GetLeftPart(UriPartial.Authority));
        Assert.Equal(pathAndQuery, request.RequestUri.PathAndQuery);
        Assert.Equal(host, request.Headers.Host);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, request.VersionPolicy);
    }

    [Fact]
    public void TheOtherProtocol_IsH2c_ForHttp11_AndBack() =>
        Assert.Equal((HttpVersion.Version20, HttpVersion.Version11), (WarmRequest.Other(HttpVersion.Version11), WarmRequest.Other(HttpVersion.Version20)));
}
