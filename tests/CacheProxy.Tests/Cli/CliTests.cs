using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Cli;

/// <summary>The cacheproxy tool against a real gateway process: each command, its output and its exit code (docs/operations/cli.md).</summary>
public sealed class CliTests
{
    private static async Task<(TestOrigin Origin, GatewayProcess Gateway)> StartAsync(params (string Name, string Value)[] settings)
    {
        var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = c.Request.Path.StartsWithSegments("/private") ? "private" : "max-age=600";
            return c.Response.WriteAsync("item " + c.Request.Path);
        };
        var gateway = GatewayProcess.Start("Production", origin.Address, [("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), .. settings]);
        await gateway.WaitStartedAsync();
        return (origin, gateway);
    }

    private static Dictionary<string, string> Env(GatewayProcess gateway, string? key = PurgeTests.Key)
    {
        var env = new Dictionary<string, string> { ["CACHEPROXY_MANAGEMENT_URL"] = $"http://127.0.0.1:{gateway.ManagementPort}" };
        if (key is not null)
        {
            env["CACHEPROXY_API_KEY"] = key;
        }
        return env;
    }

    private static string Url(GatewayProcess gateway, string path) => $"http://127.0.0.1:{gateway.PublicPort}{path}";

    [Fact]
    public async Task Health_Inspect_Stats_Purge_AndMaintenance_AgainstARealGateway()
    {
        var (origin, gateway) = await StartAsync();
        await using var _ = origin;
        await using var __ = gateway;
        var env = Env(gateway);
        using var http = new HttpClient();
        await http.GetStringAsync(Url(gateway, "/items/1"));
        await Signal.WaitUntilAsync(async () => // stored once the response has been written
            (await CliProcess.RunAsync(env, "inspect", Url(gateway, "/items/1"), "--json")).Output.Contains("\"stored\": true", StringComparison.Ordinal));
        await http.GetStringAsync(Url(gateway, "/items/1"));

        var health = await CliProcess.RunAsync(env, "health");
        var inspect = await CliProcess.RunAsync(env, "inspect", Url(gateway, "/items/1"), "--json");
        var inspectTable = await CliProcess.RunAsync(env, "inspect", Url(gateway, "/items/1"));
        var stats = await CliProcess.RunAsync(env, "stats", "--json");
        var statsTable = await CliProcess.RunAsync(env, "stats");
        var purge = await CliProcess.RunAsync(env, "purge", "--url", Url(gateway, "/items/1"));
        var afterPurge = await CliProcess.RunAsync(env, "inspect", Url(gateway, "/items/1"), "--json");
        var on = await CliProcess.RunAsync(env, "maintenance", "on", "--retry-after", "120");
        var shown = await CliProcess.RunAsync(env, "maintenance", "--json");
        var refusedWhileOn = await http.GetAsync(Url(gateway, "/private/x"));
        var off = await CliProcess.RunAsync(env, "maintenance", "off");

        Assert.Equal((0, true), (health.ExitCode, health.Output.Contains("Healthy", StringComparison.Ordinal)));
        Assert.Equal(0, inspect.ExitCode);
        Assert.True(JsonDocument.Parse(inspect.Output).RootElement.GetProperty("stored").GetBoolean());
        Assert.Contains("lifetimeFrom", inspectTable.Output, StringComparison.Ordinal);
        // Written as people read it: no escaped '+' in a date, no key internals (control characters) anywhere.
        Assert.Contains("+00:00", inspect.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", inspect.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", inspectTable.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(inspectTable.Output, c => char.IsControl(c) && c is not '\n' and not '\r' and not '\u001b');
        Assert.Equal(0, stats.ExitCode);
        var all = JsonDocument.Parse(stats.Output).RootElement.GetProperty("all");
        Assert.Equal((1, 1), (all.GetProperty("hits").GetInt32(), all.GetProperty("misses").GetInt32()));
        Assert.Contains("hit ratio", statsTable.Output, StringComparison.Ordinal);
        Assert.Contains("50.0 %", statsTable.Output, StringComparison.Ordinal);
        Assert.Equal(0, purge.ExitCode);
        Assert.Contains("purged 1 selector(s)", purge.Output, StringComparison.Ordinal);
        Assert.Contains("no other instance to tell", string.Join(' ', purge.Output.Split(default(char[]), StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal); // no Redis here (the line wraps at 80 columns)
        Assert.False(JsonDocument.Parse(afterPurge.Output).RootElement.GetProperty("stored").GetBoolean());
        Assert.Equal(0, on.ExitCode);
        Assert.Contains("maintenance on", on.Output, StringComparison.Ordinal);
        Assert.Contains("Retry-After 120 s", on.Output, StringComparison.Ordinal);
        Assert.True(JsonDocument.Parse(shown.Output).RootElement.GetProperty("enabled").GetBoolean());
        Assert.Equal(503, (int)refusedWhileOn.StatusCode);
        Assert.Equal((0, true), (off.ExitCode, off.Output.Contains("maintenance off", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PurgeWait_AndPurgeStatus_ShowTheCdnForwarding_AndExit1ForADeadLetter()
    {
        using var cdn = WireMock.Server.WireMockServer.Start();
        cdn.Given(WireMock.RequestBuilders.Request.Create().UsingPost().WithPath("/hook").WithBody(b => b!.Contains("\"good\"", StringComparison.Ordinal)))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200));
        cdn.Given(WireMock.RequestBuilders.Request.Create().UsingPost().WithPath("/hook").WithBody(b => b!.Contains("\"bad\"", StringComparison.Ordinal)))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(400));
        var (origin, gateway) = await StartAsync(("CacheProxy__Cdn__Providers__relay__Type", "Webhook"), ("CacheProxy__Cdn__Providers__relay__Url", cdn.Url + "/hook"));
        await using var _ = origin;
        await using var __ = gateway;
        var env = Env(gateway);

        var good = await CliProcess.RunAsync(env, "purge", "--tag", "good", "--wait");
        var calm = await CliProcess.RunAsync(env, "purge", "status");
        var bad = await CliProcess.RunAsync(env, "purge", "--tag", "bad", "--wait", "--json");
        var id = JsonDocument.Parse(bad.Output).RootElement.GetProperty("forwarding").GetProperty("id").GetString()!;
        var dead = await CliProcess.RunAsync(env, "purge", "status");
        var one = await CliProcess.RunAsync(env, "purge", "status", id, "--json");

        Assert.Equal(0, good.ExitCode);
        Assert.Contains("delivered", good.Output, StringComparison.Ordinal);
        Assert.Equal(0, calm.ExitCode);
        Assert.Contains("CDNs: relay (Webhook); outbox: memory", calm.Output, StringComparison.Ordinal);
        Assert.Contains("dead letters: 0", calm.Output, StringComparison.Ordinal);
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal(1, dead.ExitCode);
        Assert.Contains("dead letters: 1", dead.Output, StringComparison.Ordinal);
        Assert.Contains(id, dead.Output, StringComparison.Ordinal);
        Assert.Contains("relay: failed, 1 attempt(s) — webhook: 400 Bad Request", string.Join(' ', dead.Output.Split(default(char[]), StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.Equal(1, one.ExitCode);
        var delivery = JsonDocument.Parse(one.Output).RootElement.GetProperty("providers")[0];
        Assert.Equal("failed", delivery.GetProperty("state").GetString());
        Assert.Contains("400", delivery.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warm_FromAUrlFile_AndFromASitemap_AsksTheOriginOnceAUrl_AndReportsTheOutcome()
    {
        var (origin, gateway) = await StartAsync();
        await using var _ = origin;
        await using var __ = gateway;
        using var list = await TempFile.WriteAsync($"# the front page and two items\n{Url(gateway, "/")}\n\n{Url(gateway, "/items/1")}\n{Url(gateway, "/private/2")}\n");
        using var sitemap = await TempFile.WriteAsync($"""
            <?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{Url(gateway, "/items/1")}</loc></url><url><loc>{Url(gateway, "/items/3")}</loc></url></urlset>
            """);

        var warm = await CliProcess.RunAsync(Env(gateway), "warm", list.Path);
        var again = await CliProcess.RunAsync(Env(gateway), "warm", sitemap.Path, "--json");

        Assert.Equal(0, warm.ExitCode);
        Assert.Contains("completed", warm.Output, StringComparison.Ordinal);
        Assert.Contains("3/3 warmed", warm.Output, StringComparison.Ordinal); // the progress line, not a terminal here
        Assert.Equal(0, again.ExitCode);
        var status = JsonDocument.Parse(again.Output).RootElement;
        Assert.Equal(("completed", 2, 1, 1), (status.GetProperty("state").GetString(), status.GetProperty("count").GetInt32(),
            status.GetProperty("cached").GetInt32(), status.GetProperty("stored").GetInt32()));
        Assert.Equal(4, origin.Calls); // /, /items/1, /private/2, then only /items/3
    }

    [Fact]
    public async Task CtrlC_DuringAWarm_CancelsTheJobOnTheGateway()
    {
        // Only the cancel may end the job: no timeout of the warmer or of the upstream call may fail its requests first,
        // however slowly a busy machine gets from the first progress line to the interrupt.
        var (origin, gateway) = await StartAsync(("CacheProxy__Warm__RequestTimeout", "00:10:00"),
            ("CacheProxy__Upstream__ResponseHeadersTimeout", "00:10:00"), ("ReverseProxy__Clusters__origin__HttpRequest__ActivityTimeout", "00:10:00"));
        await using var _ = origin;
        await using var __ = gateway;
        var release = new TaskCompletionSource();
        origin.Handler = async c =>
        {
            await release.Task; // the origin holds every warming request until the test has cancelled
            await c.Response.WriteAsync("late");
        };
        using var list = await TempFile.WriteAsync(string.Join('\n', Url(gateway, "/slow/1"), Url(gateway, "/slow/2"), Url(gateway, "/slow/3")));
        try
        {
            var (process, end) = await CliProcess.StartAsync(Env(gateway), "0/3 warmed", "warm", list.Path);
            var second = await CliProcess.RunAsync(Env(gateway), "warm", list.Path); // one job at a time
            using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }
            var result = await end();
            release.SetResult();

            Assert.Equal((1, true), (second.ExitCode, second.Error.Contains("running already", StringComparison.Ordinal)));
            Assert.Equal(1, result.ExitCode);
            Assert.True(result.Output.Contains("cancelled", StringComparison.Ordinal), result.Output + "\nERR:" + result.Error);
            var status = await CliProcess.RunAsync(Env(gateway), "warm", list.Path, "--no-wait", "--json"); // a new job may start: the old one ended
            Assert.Equal(0, status.ExitCode);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task EveryWayToGetItWrong_IsOneLineAndAnExitCode_NeverAStackTrace()
    {
        var (origin, gateway) = await StartAsync();
        await using var _ = origin;
        await using var __ = gateway;

        var noKey = await CliProcess.RunAsync(Env(gateway, key: null), "stats");
        var wrongKey = await CliProcess.RunAsync(Env(gateway), "stats", "--api-key", "not-the-key-not-the-key-not-the-key");
        var healthWithoutKey = await CliProcess.RunAsync(Env(gateway, key: null), "health"); // open to the allowed networks
        var publicPort = await CliProcess.RunAsync(null, "stats", "--management", $"http://127.0.0.1:{gateway.PublicPort}", "--api-key", PurgeTests.Key);
        var nobody = await CliProcess.RunAsync(null, "health", "--management", $"http://127.0.0.1:{GatewayProcess.FreePort()}");
        var notAUrl = await CliProcess.RunAsync(null, "health", "--management", "127.0.0.1 8081");
        var unknownOption = await CliProcess.RunAsync(Env(gateway), "purge", "--everything");
        var nothingToPurge = await CliProcess.RunAsync(Env(gateway), "purge");
        var badPurge = await CliProcess.RunAsync(Env(gateway), "purge", "--url", "/relative");
        var badSwitch = await CliProcess.RunAsync(Env(gateway), "maintenance", "maybe");
        var noFile = await CliProcess.RunAsync(Env(gateway), "warm", "/no/such/file.txt");

        Assert.Equal((4, true), (noKey.ExitCode, noKey.Error.Contains("needs an API key", StringComparison.Ordinal)));
        Assert.Equal((4, true), (wrongKey.ExitCode, wrongKey.Error.Contains("API key was refused", StringComparison.Ordinal)));
        Assert.Equal(0, healthWithoutKey.ExitCode);
        Assert.Equal((3, true), (publicPort.ExitCode, publicPort.Error.Contains("management endpoint", StringComparison.Ordinal)));
        Assert.Equal((3, true), (nobody.ExitCode, nobody.Error.Contains("connection refused", StringComparison.Ordinal)));
        Assert.Equal((2, true), (notAUrl.ExitCode, notAUrl.Error.Contains("is not a management URL", StringComparison.Ordinal)));
        Assert.Equal(2, unknownOption.ExitCode);
        Assert.Equal((2, true), (nothingToPurge.ExitCode, nothingToPurge.Error.Contains("at least one", StringComparison.Ordinal)));
        Assert.Equal((1, true), (badPurge.ExitCode, badPurge.Error.Contains("urls[0]", StringComparison.Ordinal)));
        Assert.Equal(2, badSwitch.ExitCode);
        Assert.Equal((2, true), (noFile.ExitCode, noFile.Error.Contains("cannot read", StringComparison.Ordinal)));
        foreach (var result in new[] { noKey, wrongKey, publicPort, nobody, notAUrl, nothingToPurge, badPurge, noFile })
        {
            Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("error: ", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData]
    [InlineData("purge")]
    [InlineData("warm")]
    [InlineData("stats")]
    [InlineData("purge", "status")]
    [InlineData("maintenance")]
    [InlineData("health")]
    [InlineData("inspect")]
    [InlineData("config", "check")]
    [InlineData("simulate")]
    public async Task HelpIsEverywhere(params string[] command)
    {
        var help = await CliProcess.RunAsync(null, [.. command, "--help"]);

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("USAGE:", help.Output, StringComparison.Ordinal);
        Assert.Contains("cacheproxy " + string.Join(' ', command), help.Output, StringComparison.Ordinal);
        Assert.Contains("CACHEPROXY_MANAGEMENT_URL", help.Output, StringComparison.Ordinal);
        Assert.Contains("CACHEPROXY_API_KEY", help.Output, StringComparison.Ordinal);
        Assert.Contains("--timeout", help.Output, StringComparison.Ordinal);
    }

    /// <summary>Regression: --version was an error, and the help's inspect example failed when pasted (its header unquoted).</summary>
    [Fact]
    public async Task Version_IsPrinted_AndTheHelpsExamplesPasteAsTheyRead()
    {
        var version = await CliProcess.RunAsync(null, "--version");
        var help = await CliProcess.RunAsync(null, "--help");

        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Output.Trim());
        Assert.Contains("--header \"Accept-Encoding: br\"", help.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Regression: at 80 columns warm's progress wrapped (the time column over several lines, no bar), and at 120 showed
    /// two estimates. The live line fits width - 1 at any width it is drawn at, with a bar and one estimate.
    /// </summary>
    [Theory]
    [InlineData(60, 3, 500, 42L)]
    [InlineData(80, 123, 500, 42L)]
    [InlineData(80, 999_999, 1_000_000, 3_725L)]
    [InlineData(120, 250, 500, null)]
    [InlineData(200, 500, 500, 0L)]
    public void WarmsLiveLine_FitsTheTerminal_WithABarAndOneEstimate(int width, int done, int count, long? secondsLeft)
    {
        var status = JsonDocument.Parse(JsonSerializer.Serialize(new
        {
            state = "running", done, count, stored = done / 2, cached = done / 4, notStored = done / 8, failed = done - (done / 2) - (done / 4) - (done / 8), secondsLeft,
        })).RootElement;

        var line = CacheProxy.Cli.Commands.WarmCommand.ProgressLine(status, width);

        Assert.Equal(width - 1, line.Length);
        Assert.Matches(@"^\[[#.]{10,40}\] ", line);
        Assert.Contains($" {done}/{count} ", line, StringComparison.Ordinal);
        Assert.Equal(secondsLeft is null ? 0 : 1, System.Text.RegularExpressions.Regex.Count(line, "ETA "));
        Assert.True(CacheProxy.Cli.Commands.WarmCommand.MinimumLiveWidth <= width);
    }

    [Fact]
    public async Task ConfigCheck_RunsTheGatewaysValidatorsOffline_AndPrintsEveryError()
    {
        using var valid = await TempFile.WriteAsync("""
            { "CacheProxy": { "MaxObjectSize": 1048576, "Routes": { "all": { "DefaultTtl": "00:01:00" } } },
              "ReverseProxy": { "Routes": { "all": { "ClusterId": "origin", "Match": { "Path": "{**catch-all}" } } },
                                "Clusters": { "origin": { "Destinations": { "primary": { "Address": "http://127.0.0.1:8080/" } } } } } }
            """);
        using var invalid = await TempFile.WriteAsync("""
            { "CacheProxy": { "MaxObjectSize": -5, "Routes": { "nope": { } }, "Redis": { "Configuration": "" } },
              "ReverseProxy": { "Routes": { "r": { "ClusterId": "missing", "Match": { "Path": "/{**x" } } } } }
            """);
        using var broken = await TempFile.WriteAsync("""{ "CacheProxy": { """);

        var ok = await CliProcess.RunAsync(null, "config", "check", valid.Path);
        var bad = await CliProcess.RunAsync(null, "config", "check", invalid.Path);
        var badJson = await CliProcess.RunAsync(null, "config", "check", invalid.Path, "--json");
        var notJson = await CliProcess.RunAsync(null, "config", "check", broken.Path);
        var layered = await CliProcess.RunAsync(null, "config", "check", valid.Path, invalid.Path);
        var missing = await CliProcess.RunAsync(null, "config", "check", "/no/such/appsettings.json");

        Assert.Equal((0, true), (ok.ExitCode, ok.Output.Contains("valid", StringComparison.Ordinal)));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("CacheProxy:MaxObjectSize", bad.Output, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Routes:nope", bad.Output, StringComparison.Ordinal);
        Assert.Contains("Redis", bad.Output, StringComparison.Ordinal);
        Assert.Contains("ReverseProxy:Routes:r", bad.Output, StringComparison.Ordinal);
        var report = JsonDocument.Parse(badJson.Output).RootElement;
        Assert.False(report.GetProperty("valid").GetBoolean());
        Assert.True(report.GetProperty("errors").GetArrayLength() >= 5);
        Assert.Equal((1, true), (notJson.ExitCode, notJson.Output.Contains("LineNumber", StringComparison.Ordinal)));
        Assert.Equal(1, layered.ExitCode); // the second file's values over the first's
        Assert.Equal((2, true), (missing.ExitCode, missing.Error.Contains("no such file", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Regression: a value that does not convert made config check say "unexpected failure" and stop, and a misspelt
    /// key was silently valid. The first is listed with the other errors; the second is a warning, an error with --strict.
    /// </summary>
    [Fact]
    public async Task ConfigCheck_ListsAValueThatDoesNotConvert_WithTheOthers_AndWarnsOfKeysThatBindToNothing()
    {
        using var unconvertible = await TempFile.WriteAsync("""{ "CacheProxy": { "MemoryTierSizeLimit": "lots", "MaxObjectSize": -5 } }""");
        using var misspelt = await TempFile.WriteAsync("""{ "CacheProxy": { "MaxObjSize": 1048576, "Managment": { "Port": 8081 } } }""");

        var bad = await CliProcess.RunAsync(null, "config", "check", unconvertible.Path);
        var warned = await CliProcess.RunAsync(null, "config", "check", misspelt.Path);
        var strict = await CliProcess.RunAsync(null, "config", "check", misspelt.Path, "--strict");
        var strictJson = await CliProcess.RunAsync(null, "config", "check", misspelt.Path, "--strict", "--json");

        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("CacheProxy:MemoryTierSizeLimit: 'lots' is not a whole number (Int64).", bad.Output, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:MaxObjectSize must be between 1", bad.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", bad.Output + bad.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, warned.ExitCode);
        Assert.Contains("2 warning(s)", warned.Output, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:MaxObjSize binds to no option and is ignored; did you mean CacheProxy:MaxObjectSize?", warned.Output, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Managment binds to no option and is ignored; did you mean CacheProxy:Management?", warned.Output, StringComparison.Ordinal);
        Assert.Equal(1, strict.ExitCode);
        var report = JsonDocument.Parse(strictJson.Output).RootElement;
        Assert.False(report.GetProperty("valid").GetBoolean());
        Assert.Equal(2, report.GetProperty("warnings").GetArrayLength());
        Assert.Equal(0, report.GetProperty("errors").GetArrayLength());
    }
}
