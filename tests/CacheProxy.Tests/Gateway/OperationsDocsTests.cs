using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using CacheProxy.Tests.Infrastructure;
using Snapshooter.Xunit;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// docs/operations must stay true: the alerting rules parse with promtool, and every metric the rules and the
/// dashboard use exists in a scrape of the running sample gateway.
/// </summary>
public sealed partial class OperationsDocsTests
{
    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CacheProxy.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("CacheProxy.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task AlertRules_PassPromtool()
    {
        var rules = Path.Combine(RepoRoot(), "docs", "operations", "alerts.yml");
        var (exitCode, standardOutput, standardError) = await ExternalProcess.RunAsync(new ProcessStartInfo("promtool", ["check", "rules", rules]), TimeSpan.FromMinutes(1));
        var output = standardOutput + standardError;

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryMetricInTheRulesAndDashboard_ExistsInAScrapeOfTheGateway()
    {
        var scrape = await ScrapeAfterTrafficAsync();
        var present = scrape.Split('\n').Where(l => l.StartsWith("cacheproxy_", StringComparison.Ordinal))
            .Select(l => MetricName().Match(l).Value).ToHashSet();

        var docs = Path.Combine(RepoRoot(), "docs", "operations");
        var used = MetricName().Matches(File.ReadAllText(Path.Combine(docs, "alerts.yml")) + File.ReadAllText(Path.Combine(docs, "dashboard.json")))
            .Select(m => m.Value).Distinct().Order().ToList();

        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.Contains(name, present));
        // The names the gateway exports after that traffic, pinned: a rename breaks dashboards and alerts.
        Snapshot.Match(present.Order().ToList());
    }

    [GeneratedRegex("cacheproxy_[a-z_]+")]
    private static partial Regex MetricName();

    /// <summary>
    /// A gateway with the Redis tier and a CDN whose API is down, and traffic that makes every instrument report: miss,
    /// hit, bypass, eviction, refused call, upstream error, a purge forwarded and retried.
    /// </summary>
    private static async Task<string> ScrapeAfterTrafficAsync()
    {
        await using var redis = await RedisServer.StartAsync();
        var origin = await TestOrigin.StartAsync();
        var body = new string('x', 300_000);
        // A client certificate for the cluster (its http:// destination never asks for it): its expiry gauge reports.
        var tls = Directory.CreateTempSubdirectory("cacheproxy-scrape-").FullName;
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var now = TimeProvider.System.GetUtcNow();
            using var certificate = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=gateway", key,
                System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            File.WriteAllText(Path.Combine(tls, "tls.crt"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(tls, "tls.key"), key.ExportPkcs8PrivateKeyPem());
        }
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync(body);
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address,
            ("CacheProxy__MemoryTierSizeLimit", "1048576"), ("CacheProxy__MaxObjectSize", "400000"),
            // LRU evicts on the fourth object. W-TinyLFU keeps it out instead (a rejection), and its next request, a Redis
            // hit, is held as a copy that streams its body from Redis (a few KiB in memory): nothing is ever evicted.
            ("CacheProxy__Eviction", "Lru"),
            ("CacheProxy__Redis__Configuration", redis.Endpoint),
            ("CacheProxy__Redis__OperationTimeout", "00:00:10"), // a busy machine must not add store failures to the scrape
            ("CacheProxy__Management__ApiKeys__ops", Invalidation.PurgeTests.Key),
            ("CacheProxy__Upstream__Tls__origin__CertificatePath", Path.Combine(tls, "tls.crt")),
            ("CacheProxy__Upstream__Tls__origin__KeyPath", Path.Combine(tls, "tls.key")),
            ("CacheProxy__Cdn__Providers__down__Type", "Webhook"), ("CacheProxy__Cdn__Providers__down__Url", $"http://127.0.0.1:{GatewayProcess.FreePort()}/"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var publicBase = $"http://127.0.0.1:{gateway.PublicPort}";

        await http.GetStringAsync($"{publicBase}/a");
        await http.GetStringAsync($"{publicBase}/a");
        foreach (var path in new[] { "/b", "/c", "/d" })
        {
            await http.GetStringAsync(publicBase + path); // 4 × 300 kB in a 1 MiB tier under LRU: evictions
        }
        await http.PostAsync($"{publicBase}/a", new StringContent("x"));
        using (var purge = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.ManagementPort}/purge")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { tags = new[] { "t" } }),
        })
        {
            purge.Headers.Authorization = new("Bearer", Invalidation.PurgeTests.Key);
            (await http.SendAsync(purge)).EnsureSuccessStatusCode();
        }
        await gateway.WaitForLineAsync("\"EventId\":1611"); // the CDN's API refused the connection: retried
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{publicBase}/health")).StatusCode);
        await origin.DisposeAsync();
        Assert.Equal(HttpStatusCode.BadGateway, (await http.GetAsync($"{publicBase}/gone")).StatusCode);

        return await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics");
    }
}
