using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CacheProxy.Tests.Infrastructure;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// HTTP/2 on both sides: the sample gateway's public side over TLS (ALPN) and cleartext with prior knowledge, as
/// configured endpoints of a real process with a real HttpClient; and YARP speaking h2c to an origin.
/// </summary>
public sealed class Http2Tests
{
    private static HttpClient Http2Client(bool trustAnyCertificate = false) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = trustAnyCertificate ? (_, _, _, _) => true : null },
    })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static async Task<TestOrigin> CacheableOriginAsync(bool http2 = false)
    {
        var origin = await TestOrigin.StartAsync(http2);
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("over " + c.Request.Protocol);
        };
        return origin;
    }

    /// <summary>The sample gateway in Production with an h2c (HTTP/2 with prior knowledge) endpoint of its own.</summary>
    private static async Task<(GatewayProcess Gateway, int Port)> StartWithH2cAsync(TestOrigin origin)
    {
        var port = GatewayProcess.FreePort();
        var gateway = GatewayProcess.Start("Production", origin.Address,
            ("Kestrel__Endpoints__PublicH2c__Url", $"http://127.0.0.1:{port}"), ("Kestrel__Endpoints__PublicH2c__Protocols", "Http2"));
        await gateway.WaitStartedAsync();
        return (gateway, port);
    }

    [Fact]
    public async Task ACleartextHttp2Endpoint_ServesMissesAndHits_WithPriorKnowledge()
    {
        await using var origin = await CacheableOriginAsync();
        var (gateway, port) = await StartWithH2cAsync(origin);
        await using var _ = gateway;
        using var client = Http2Client();

        var miss = await client.GetAsync($"http://127.0.0.1:{port}/h2c");
        var hit = await client.GetAsync($"http://127.0.0.1:{port}/h2c");

        Assert.Equal(HttpVersion.Version20, miss.Version);
        Assert.Equal(HttpVersion.Version20, hit.Version);
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal("over HTTP/1.1", await hit.Content.ReadAsStringAsync());
        Assert.Equal(1, origin.Calls);
    }

    [Fact]
    public async Task ResponseFields_AreNotAddedToTheHpackTable_WhichCostsAHitMoreCpuThanTheBytesItSaves()
    {
        await using var origin = await CacheableOriginAsync();
        var (gateway, port) = await StartWithH2cAsync(origin);
        await using var _ = gateway;

        await RawHttp2.GetAsync(port, "/table");
        var hit = await RawHttp2.GetAsync(port, "/table"); // Cache-Status, Age, X-Request-ID, the stored fields

        Assert.Equal(200, hit.Status);
        Assert.False(hit.Indexing); // Kestrel:AllowResponseHeaderCompression false (docs/performance.md)
    }

    [Fact]
    public async Task ATlsEndpoint_NegotiatesHttp2ThroughAlpn()
    {
        await using var origin = await CacheableOriginAsync();
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddDays(1));
        var pfx = Path.Combine(Path.GetTempPath(), $"cacheproxy-test-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));
        try
        {
            var port = GatewayProcess.FreePort();
            await using var gateway = GatewayProcess.Start("Production", origin.Address,
                ("Kestrel__Endpoints__PublicTls__Url", $"https://127.0.0.1:{port}"),
                ("Kestrel__Endpoints__PublicTls__Certificate__Path", pfx),
                ("Kestrel__Endpoints__PublicTls__Certificate__Password", "test-password"));
            await gateway.WaitStartedAsync();
            using var client = Http2Client(trustAnyCertificate: true);

            await client.GetAsync($"https://127.0.0.1:{port}/tls");
            var hit = await client.GetAsync($"https://127.0.0.1:{port}/tls");

            Assert.Equal(HttpVersion.Version20, hit.Version); // h2 chosen by ALPN on an Http1AndHttp2 endpoint
            Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
            Assert.Equal(1, origin.Calls);
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Fact]
    public async Task YarpSpeaksH2cToAnOriginThatDoes_WhenTheClusterSaysSo()
    {
        await using var origin = await CacheableOriginAsync(http2: true);
        await using var proxy = await ProxyFixture.StartAsync(sharedOrigin: origin, cluster: c => c with
        {
            HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact },
        });

        await proxy.GetAsync("/up");
        var hit = await proxy.GetAsync("/up");

        Assert.Equal("HTTP/2", Assert.Single(origin.Seen).Protocol);
        Assert.Equal("over HTTP/2", await hit.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus(), StringComparison.Ordinal);
    }
}
