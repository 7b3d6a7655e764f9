using System.Net;
using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Gateway;

/// <summary>The sample gateway's configuration as a real process: refused at startup with every error, reloaded from a mounted directory.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task EveryConfigurationError_OfEveryOptionsClass_IsReportedTogether_AndNothingListens()
    {
        await using var gateway = GatewayProcess.Start("Production", upstream: null,
            ("CacheProxy__MemoryTierSizeLimit", "-1"),
            ("CacheProxy__Shutdown__DrainDelay", "-00:00:01"),
            ("CacheProxy__Routes__nosuchroute__Ttl", "00:01:00"),
            ("CacheProxy__Routes__all__ResponseHeadersTimeout", "02:00:00"),
            ("CacheProxy__Upstream__MaxConnectionsPerServer", "0"),
            ("CacheProxy__Management__AllowedNetworks__0", "10.0.0.0/33"),
            ("CacheProxy__Management__ApiKeys__ops", "too-short-a-secret"),
            ("CacheProxy__Redis__KeyPrefix", "gw:")); // a Redis section without a connection string
        await gateway.WaitExitAsync();

        var logged = await gateway.WaitForLineAsync("\"EventId\":1300");
        string[] errors =
        [
            "No upstream configured: set ReverseProxy:Clusters:origin:Destinations:primary:Address",
            "CacheProxy:MemoryTierSizeLimit must be at least 1048576 bytes (was -1)",
            "CacheProxy:Shutdown:DrainDelay must be between 0 and 5 minutes",
            "CacheProxy:Routes:nosuchroute names a route YARP does not have",
            "CacheProxy:Routes:all:ResponseHeadersTimeout must be between 100 ms and 1 hour (was 02:00:00)",
            "CacheProxy:Upstream:MaxConnectionsPerServer must be between 1 and 65535 (was 0)",
            "CacheProxy:Management:AllowedNetworks:0 must be a network in CIDR notation",
            "CacheProxy:Management:ApiKeys:ops must be at least 32 characters",
            "CacheProxy:Redis:Configuration is required",
        ];
        Assert.NotEqual(0, gateway.ExitCode);
        Assert.All(errors, e => Assert.Contains(e, logged, StringComparison.Ordinal)); // one event names them all
        Assert.DoesNotContain("Now listening on", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-a-secret", gateway.Output, StringComparison.Ordinal); // a key is never written out
    }

    [Fact]
    public async Task ASettingsFileThatIsNotValidJsonAtStartup_StopsIt_NamingTheFile()
    {
        var directory = Directory.CreateTempSubdirectory("cacheproxy-settings-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "broken.json"), "{ \"CacheProxy\": ");
            await using var gateway = GatewayProcess.Start("Production", "http://127.0.0.1:9/", ("CACHEPROXY_SETTINGS_DIR", directory.FullName));
            await gateway.WaitExitAsync();

            Assert.Equal(1, gateway.ExitCode);
            Assert.Contains("Configuration error: the settings file " + Path.Combine(directory.FullName, "broken.json") + " cannot be read", gateway.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AMemoryTierLargerThanHalfTheHeapLimit_IsRefusedAtStartup_WithTheLimitNamed()
    {
        // 128 MiB of GC heap (as a container limit of about 170 MiB would give) under the sample's 256 MiB tier.
        await using var gateway = GatewayProcess.Start("Production", "http://127.0.0.1:9/", ("DOTNET_GCHeapHardLimit", "0x8000000"));
        await gateway.WaitExitAsync();

        var logged = await gateway.WaitForLineAsync("\"EventId\":1300");
        Assert.NotEqual(0, gateway.ExitCode);
        Assert.Contains("CacheProxy:MemoryTierSizeLimit (268435456 bytes) must be at most half of the memory this process may use (134217728 bytes", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSettingsDirectory_ReloadsRoutePoliciesKeysAndYarpRoutes_AndAnInvalidReloadKeepsTheLastGoodOne()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c => c.Response.WriteAsync("content of " + c.Request.Path); // no freshness: only a route's Ttl stores it
        var directory = Directory.CreateTempSubdirectory("cacheproxy-settings-");
        var file = Path.Combine(directory.FullName, "gateway.json");
        const string First = "first-key-0123456789abcdef0123456789";
        const string Second = "second-key-0123456789abcdef012345678";
        Write(file, cacheProxy: new { Routes = new { all = new { Ttl = "00:01:00" } }, Management = new { ApiKeys = new { first = First } } });
        try
        {
            await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CACHEPROXY_SETTINGS_DIR", directory.FullName));
            await gateway.WaitStartedAsync();
            using var http = new HttpClient();
            var status = (string path) => StatusAsync(http, gateway, path);

            Assert.StartsWith("CacheProxy; hit", await TwiceAsync(status, "/a")); // the Ttl of route "all" applies

            // Invalid as a whole: one bad value, beside a change that would be valid on its own.
            Write(file, cacheProxy: new { MaxVariantsPerUrl = 0, Routes = new { all = new { Enabled = false } }, Management = new { ApiKeys = new { first = First } } });
            await gateway.WaitForLineAsync("\"EventId\":1301"); // ConfigurationReloadRejected
            Assert.StartsWith("CacheProxy; hit", await TwiceAsync(status, "/b"));

            // Valid: route "all" no longer cached, a new YARP route "fixed" with a Ttl, the first key replaced.
            Write(file,
                cacheProxy: new { Routes = new { all = new { Enabled = false }, @fixed = new { Ttl = "00:01:00" } }, Management = new { ApiKeys = new { second = Second } } },
                reverseProxy: new { Routes = new { @fixed = new { ClusterId = "origin", Order = -1, Match = new { Path = "/fixed/{**rest}" } } } });
            await gateway.WaitForLineAsync("\"EventId\":1302"); // ConfigurationReloaded
            await gateway.WaitForLineAsync("\"EventId\":1304", occurrence: 2); // ProxyConfigurationApplied, after the first at startup

            Assert.Contains("fwd=bypass", await TwiceAsync(status, "/c")); // route "all" is off
            Assert.StartsWith("CacheProxy; hit", await TwiceAsync(status, "/fixed/d")); // the new route, with its Ttl
            var purgeUrl = $"http://127.0.0.1:{gateway.ManagementPort}/purge";
            var purge = new { urls = new[] { $"http://127.0.0.1:{gateway.PublicPort}/a" } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await PurgeTests.PurgeAsync(http, purgeUrl, purge, First)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await PurgeTests.PurgeAsync(http, purgeUrl, purge, Second)).StatusCode);
            var ready = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/ready")).RootElement;
            Assert.Equal(1, ready.GetProperty("checks").GetProperty("configuration").GetProperty("data").GetProperty("rejectedReloads").GetInt32());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ASettingsFileThatIsNotValidJson_KeepsItsLastGoodContent_IsLoggedCountedAndShownInReadiness()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c => c.Response.WriteAsync("content of " + c.Request.Path); // no freshness: only a route's Ttl stores it
        var directory = Directory.CreateTempSubdirectory("cacheproxy-settings-");
        var file = Path.Combine(directory.FullName, "gateway.json");
        var other = Path.Combine(directory.FullName, "other.json");
        Write(file, cacheProxy: new { Routes = new { @fixed = new { Ttl = "00:01:00" } } },
            reverseProxy: new { Routes = new { @fixed = new { ClusterId = "origin", Order = -1, Match = new { Path = "/fixed/{**rest}" } } } });
        Write(other, cacheProxy: new { MaxVariantsPerUrl = 32 });
        try
        {
            await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CACHEPROXY_SETTINGS_DIR", directory.FullName));
            await gateway.WaitStartedAsync();
            using var http = new HttpClient();
            var status = (string path) => StatusAsync(http, gateway, path);
            var ready = $"http://127.0.0.1:{gateway.ManagementPort}/health/ready";

            File.WriteAllText(file, "{ \"CacheProxy\": { \"Routes\": "); // cut off mid-write
            var logged = await gateway.WaitForLineAsync("\"EventId\":1306");
            Write(other, cacheProxy: new { MaxVariantsPerUrl = 16 }); // another file's reload rebuilds everything from every file
            await gateway.WaitForLineAsync("\"EventId\":1302"); // ConfigurationReloaded, for other.json
            var whileBroken = await http.GetAsync(ready);
            var readiness = JsonDocument.Parse(await whileBroken.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("configuration");

            Assert.Contains("gateway.json", logged, StringComparison.Ordinal);
            Assert.Equal("Degraded", readiness.GetProperty("status").GetString());
            Assert.Contains(readiness.GetProperty("data").EnumerateObject(), p => p.Name.StartsWith("invalidFile:", StringComparison.Ordinal) && p.Name.EndsWith("gateway.json", StringComparison.Ordinal));
            Assert.StartsWith("CacheProxy; hit", await TwiceAsync(status, "/fixed/a")); // its YARP route and its Ttl stay
            var metrics = await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics");
            Assert.Contains("source=\"file\"", metrics.Split('\n').Single(l => l.StartsWith("cacheproxy_config_reloads_total", StringComparison.Ordinal) && l.Contains("rejected", StringComparison.Ordinal)), StringComparison.Ordinal);

            // Fixed: it loads again, and readiness says so.
            Write(file, cacheProxy: new { Routes = new { @fixed = new { Ttl = "00:01:00" } } },
                reverseProxy: new { Routes = new { @fixed = new { ClusterId = "origin", Order = -1, Match = new { Path = "/fixed/{**rest}" } } } });
            await Signal.WaitUntilAsync(async () => !(await http.GetStringAsync(ready)).Contains("invalidFile:", StringComparison.Ordinal));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static void Write(string file, object cacheProxy, object? reverseProxy = null) =>
        File.WriteAllText(file, JsonSerializer.Serialize(new { CacheProxy = cacheProxy, ReverseProxy = reverseProxy ?? new { } }));

    private static async Task<string> StatusAsync(HttpClient http, GatewayProcess gateway, string path) =>
        (await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}{path}")).CacheStatus();

    /// <summary>The Cache-Status of the second of two GETs of <paramref name="path"/>.</summary>
    private static async Task<string> TwiceAsync(Func<string, Task<string>> status, string path)
    {
        await status(path);
        return await status(path);
    }
}
