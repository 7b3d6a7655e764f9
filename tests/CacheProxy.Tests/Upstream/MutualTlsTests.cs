using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Tests.Upstream;

/// <summary>
/// Mutual TLS to origins (CacheProxy:Upstream:Tls, docs/operations/service-mesh.md), over real TLS with certificates
/// the tests make: a private CA, an origin that requires a client certificate from it, rotation, refusal, expiry.
/// </summary>
public sealed class MutualTlsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cacheproxy-mtls-").FullName;
    private readonly X509Certificate2 _ca = Authority("CacheProxy test CA");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddYears(1));
    }

    /// <summary>A certificate <paramref name="issuer"/> signs: for the origin (127.0.0.1) or for a client.</summary>
    private static X509Certificate2 Issue(X509Certificate2 issuer, string name, bool server, DateTimeOffset? notAfter = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(issuer, TimeProvider.System.GetUtcNow().AddDays(-1), notAfter ?? TimeProvider.System.GetUtcNow().AddDays(90), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <paramref name="certificate"/> and its key as PEM files; their paths.</summary>
    private (string Certificate, string Key) Write(X509Certificate2 certificate, string name)
    {
        var (certificatePath, keyPath) = (Path.Combine(_folder, name + ".crt"), Path.Combine(_folder, name + ".key"));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    private string WriteBundle(params X509Certificate2[] authorities)
    {
        var path = Path.Combine(_folder, "ca-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(path, string.Concat(authorities.Select(a => a.ExportCertificatePem() + "\n")));
        return path;
    }

    /// <summary>
    /// An HTTPS origin on 127.0.0.1 that requires a client certificate issued by <paramref name="clientAuthority"/>, answers
    /// with its thumbprint, uncacheable, and closes each connection (so every request makes a new TLS handshake).
    /// </summary>
    private static async Task<WebApplication> OriginAsync(X509Certificate2 serverCertificate, X509Certificate2 clientAuthority)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1; // one request a connection: "Connection: close" holds
            https.ServerCertificate = serverCertificate;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(clientAuthority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            };
        })));
        var app = builder.Build();
        app.Run(async c =>
        {
            c.Response.Headers.CacheControl = "no-store";
            c.Response.Headers.Connection = "close";
            await c.Response.WriteAsync(c.Connection.ClientCertificate?.Thumbprint ?? "none");
        });
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication origin) => origin.Urls.Single(u => u.StartsWith("https://", StringComparison.Ordinal));

    [Fact]
    public async Task AnOriginThatRequiresAClientCertificate_RefusesTheGatewayWithout_AndAcceptsItWith()
    {
        using var server = Issue(_ca, "origin", server: true);
        using var client = Issue(_ca, "gateway", server: false);
        var (certificate, key) = Write(client, "client");
        var bundle = WriteBundle(_ca);
        await using var origin = await OriginAsync(server, _ca);
        await using var without = await ProxyFixture.StartAsync(o => o.Upstream.Tls["origin"] = new() { CaBundlePath = bundle }, upstream: Address(origin));
        await using var with = await ProxyFixture.StartAsync(o => o.Upstream.Tls["origin"] = new() { CertificatePath = certificate, KeyPath = key, CaBundlePath = bundle },
            upstream: Address(origin));

        var refused = await without.GetAsync("/a");
        var accepted = await with.GetAsync("/a");

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(client.Thumbprint, await accepted.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnOriginCertificateFromAnotherCa_IsRefused_WithAnEventThatSaysWhy()
    {
        using var stranger = Authority("Someone else's CA");
        using var server = Issue(stranger, "origin", server: true);
        using var client = Issue(_ca, "gateway", server: false);
        var (certificate, key) = Write(client, "client");
        await using var origin = await OriginAsync(server, _ca);
        await using var proxy = await ProxyFixture.StartAsync(
            o => o.Upstream.Tls["origin"] = new() { CertificatePath = certificate, KeyPath = key, CaBundlePath = WriteBundle(_ca) }, upstream: Address(origin));

        var response = await proxy.GetAsync("/a");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var refusal = Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "UpstreamCertificateRejected");
        Assert.Contains("cluster origin (CN=origin)", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("not issued by a CA of CaBundlePath", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheClientCertificate_RotatesUnderLoad_WithoutAFailedRequest()
    {
        using var server = Issue(_ca, "origin", server: true);
        using var first = Issue(_ca, "gateway", server: false);
        using var second = Issue(_ca, "gateway", server: false);
        var (certificate, key) = Write(first, "client");
        await using var origin = await OriginAsync(server, _ca);
        await using var proxy = await ProxyFixture.StartAsync(
            o => o.Upstream.Tls["origin"] = new() { CertificatePath = certificate, KeyPath = key, CaBundlePath = WriteBundle(_ca) }, upstream: Address(origin));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(HttpStatusCode Status, string Body)>();
        var rotated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task WorkerAsync()
        {
            for (var i = 0; i < 40; i++)
            {
                if (i == 10)
                {
                    await rotated.Task; // half the requests before the rotation, half after, the workers in flight across it
                }
                var response = await proxy.GetAsync("/load");
                seen.Enqueue((response.StatusCode, await response.Content.ReadAsStringAsync()));
            }
        }
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(WorkerAsync)).ToArray();
        await Signal.WaitUntilAsync(() => seen.Count >= 20);
        Write(second, "client"); // cert-manager writes the renewed pair in place
        proxy.Time.Advance(proxy.Services.GetRequiredService<CacheProxy.Configuration.LastGoodOptions>().Current.Upstream.TlsReloadInterval);
        rotated.SetResult();
        await Task.WhenAll(workers);

        Assert.All(seen, s => Assert.Equal(HttpStatusCode.OK, s.Status));
        Assert.Equal(160, seen.Count);
        Assert.Contains(seen, s => s.Body == first.Thumbprint);
        Assert.Equal(second.Thumbprint, seen.Last().Body); // every connection after the rotation presents the new one (no TLS resumption)
        Assert.Equal(2, proxy.Logs.GetSnapshot().Count(r => r.Id.Name == "UpstreamCertificatesLoaded")); // at startup, and once rotated
    }

    [Fact]
    public async Task AnExpiringClientCertificate_ShowsInReadiness_AndInItsMetric_DaysAhead()
    {
        using var client = Issue(_ca, "gateway", server: false, notAfter: TimeProvider.System.GetUtcNow().AddDays(3));
        var (certificate, key) = Write(client, "client");
        await using var proxy = await ProxyFixture.StartAsync(o => o.Upstream.Tls["origin"] = new() { CertificatePath = certificate, KeyPath = key });
        using var expiry = proxy.Collect<double>("cacheproxy.upstream.client_certificate.expiry");

        var report = await proxy.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "upstream-certificates");
        expiry.RecordObservableInstruments();

        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Contains("origin (expires", report.Entries["upstream-certificates"].Description, StringComparison.Ordinal);
        var seconds = Assert.Single(expiry.GetMeasurementSnapshot()).Value;
        Assert.InRange(seconds, TimeSpan.FromDays(2.9).TotalSeconds, TimeSpan.FromDays(3).TotalSeconds);
    }

    [Fact]
    public async Task BrokenTlsSettings_AreRefusedAtStartup_NamingTheirKey()
    {
        var notAKey = Path.Combine(_folder, "not-a-key.pem");
        File.WriteAllText(notAKey, "not a key");
        using var client = Issue(_ca, "gateway", server: false);
        var (certificate, _) = Write(client, "client");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o =>
        {
            o.Upstream.Tls["missing"] = new() { CertificatePath = Path.Combine(_folder, "nowhere.crt"), KeyPath = Path.Combine(_folder, "nowhere.key") };
            o.Upstream.Tls["broken"] = new() { CertificatePath = certificate, KeyPath = notAKey };
            o.Upstream.Tls["empty"] = new();
        }));

        Assert.Contains("CacheProxy:Upstream:Tls:missing:CertificatePath: no such file", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Upstream:Tls:broken: the certificate files do not load", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Upstream:Tls:empty needs CertificatePath, CaBundlePath or both", error.Message, StringComparison.Ordinal);
    }
}
