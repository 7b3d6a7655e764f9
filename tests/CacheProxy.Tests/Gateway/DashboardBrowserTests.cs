using System.Net.Http.Headers;
using System.Net.Http.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CacheProxy.Tests.Gateway;

/// <summary>
/// The live dashboard in a real browser (Playwright driving Debian's chromium) on a real gateway process: the page
/// signs in with Basic, loads under its Content-Security-Policy without an error, and its figures follow the
/// traffic sent through the gateway (docs/operations/dashboard.md; the screenshot there comes from this test).
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task TheFiguresOnThePage_FollowTheTrafficThroughTheGateway()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers["Surrogate-Key"] = "items";
            return c.Response.WriteAsync(new string('x', 2048));
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key));
        await gateway.WaitStartedAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        await using var context = await browser.NewContextAsync(new()
        {
            HttpCredentials = new() { Username = "ops", Password = PurgeTests.Key },
            ViewportSize = new() { Width = 1280, Height = 1000 },
        });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);

        await page.GotoAsync($"http://127.0.0.1:{gateway.ManagementPort}/dashboard");
        await Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        await Expect(page.Locator("#routes tbody")).ToContainTextAsync("no requests yet");
        await Expect(page.Locator("#redis")).ToHaveTextAsync("none");
        await Expect(page.Locator("#maintenance")).ToHaveTextAsync("maintenance: off");

        using var http = new HttpClient();
        for (var i = 0; i < 20; i++)
        {
            (await http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}/items/{i % 4}")).EnsureSuccessStatusCode(); // 4 misses, then 16 hits
        }
        using var purge = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.ManagementPort}/purge") { Content = JsonContent.Create(new { tags = new[] { "items" } }) };
        purge.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        (await http.SendAsync(purge)).EnsureSuccessStatusCode();

        await Expect(page.Locator("#served-total")).ToHaveTextAsync("32.0 KiB"); // 16 hits of 2 KiB
        await Expect(page.Locator("#hit-ratio")).ToHaveTextAsync("80.0 %");
        var route = page.Locator("#routes tbody tr[data-route]");
        await Expect(route).ToHaveCountAsync(1);
        await Expect(route).ToContainTextAsync("80.0 %");
        await Expect(page.Locator("#origin-p99")).Not.ToHaveTextAsync("–");
        await Expect(page.Locator("#purges tbody tr")).ToContainTextAsync("ops");
        await Expect(page.Locator("#purges tbody tr")).ToContainTextAsync("no other instance"); // no Redis: nobody else to tell
        // The browser's own sign-in (its first requests carry no credentials: 401 with the challenges) is no error.
        await Expect(page.Locator("#errors-total")).ToHaveTextAsync("0");
        await Expect(page.Locator("#memory-entries")).ToHaveTextAsync("0"); // the purge removed all four
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "dashboard.png"), FullPage = true });

        await page.SetViewportSizeAsync(390, 844); // a phone: nothing wider than the screen but the tables' own scroll
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-phone.png") });
        Assert.Empty(problems); // a script or style the Content-Security-Policy blocked would show here
    }

    [Fact]
    public async Task TheCdnForwarding_ShowsOnThePage_WithItsDeadLetters_AndNoCredential()
    {
        using var cdn = WireMock.Server.WireMockServer.Start();
        cdn.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(400));
        await using var origin = await TestOrigin.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key),
            ("CacheProxy__Cdn__Providers__relay__Type", "Webhook"), ("CacheProxy__Cdn__Providers__relay__Url", cdn.Url + "/hook"),
            ("CacheProxy__Cdn__Providers__relay__Token", Cdn.CdnForwardingTests.Token));
        await gateway.WaitStartedAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        await using var context = await browser.NewContextAsync(new() { HttpCredentials = new() { Username = "ops", Password = PurgeTests.Key } });
        var page = await context.NewPageAsync();

        await page.GotoAsync($"http://127.0.0.1:{gateway.ManagementPort}/dashboard");
        await Expect(page.Locator("#cdn-summary")).ToContainTextAsync("relay (Webhook) · outbox memory · waiting 0 · dead letters 0");
        using var http = new HttpClient();
        using var purge = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{gateway.ManagementPort}/purge")
        {
            Content = JsonContent.Create(new { tags = new[] { "items" }, wait = true }),
        };
        purge.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        (await http.SendAsync(purge)).EnsureSuccessStatusCode();

        await Expect(page.Locator("#cdn-summary")).ToContainTextAsync("dead letters 1");
        await Expect(page.Locator("#cdn tbody tr")).ToContainTextAsync("failed");
        await Expect(page.Locator("#cdn tbody tr")).ToContainTextAsync("webhook: 400 Bad Request");
        Assert.DoesNotContain(Cdn.CdnForwardingTests.Token, await page.ContentAsync(), StringComparison.Ordinal);
    }

    /// <summary>
    /// docs/operations/dashboard.md's screenshot script, as written, with the playwright-core that Microsoft.Playwright
    /// ships in this test's output (the same package the docs install from npm) and Debian's chromium.
    /// </summary>
    [Fact]
    public async Task TheCommandLineScreenshot_InTheDocs_Works()
    {
        var doc = await File.ReadAllTextAsync(Path.Combine(OperationsDocsTests.RepoRoot(), "docs", "operations", "dashboard.md"));
        var marker = doc.IndexOf("<!-- dashboard-test: screenshot.mjs -->", StringComparison.Ordinal);
        Assert.True(marker >= 0, "docs/operations/dashboard.md has no screenshot script");
        var start = doc.IndexOf("```js\n", marker, StringComparison.Ordinal) + "```js\n".Length;
        var script = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var folder = Directory.CreateTempSubdirectory("cacheproxy-screenshot-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "node_modules"));
            Directory.CreateSymbolicLink(Path.Combine(folder.FullName, "node_modules", "playwright-core"), Path.Combine(AppContext.BaseDirectory, ".playwright", "package"));
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "screenshot.mjs"), script);
            await using var gateway = GatewayProcess.Start("Development", null, ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key));
            await gateway.WaitStartedAsync();
            var png = Path.Combine(folder.FullName, "dashboard.png");

            var node = new System.Diagnostics.ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, ".playwright", "node", "linux-x64", "node"),
                ["screenshot.mjs", $"http://127.0.0.1:{gateway.ManagementPort}/dashboard", png])
            { WorkingDirectory = folder.FullName, Environment = { ["CACHEPROXY_API_KEY"] = PurgeTests.Key } };
            var (exitCode, _, errors) = await ExternalProcess.RunAsync(node, TimeSpan.FromSeconds(90));

            Assert.True(exitCode == 0, errors);
            Assert.True(new FileInfo(png).Length > 10_000); // a page, not an empty image
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}

/// <summary><c>GET /stats</c> of a real gateway process on Redis: the circuit and the connection as they are.</summary>
public sealed class StatsGatewayTests
{
    [Fact]
    public async Task Stats_ShowTheRedisConnection_UpAndThenDown()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        await using var gateway = GatewayProcess.Start("Production", origin.Address,
            ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), ("CacheProxy__Redis__Configuration", redis.Endpoint));
        await gateway.WaitStartedAsync();
        await gateway.WaitHealthyAsync();
        using var http = new HttpClient();
        async Task<System.Text.Json.JsonElement> RedisAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.ManagementPort}/stats");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key);
            return (await (await http.SendAsync(request)).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("redis");
        }

        var up = await RedisAsync();
        var scraped = await http.GetStringAsync($"http://127.0.0.1:{gateway.ManagementPort}/metrics"); // the Redis tier's own meter, exported
        await redis.KillAsync();
        await Signal.WaitUntilAsync(async () => !(await RedisAsync()).GetProperty("connected").GetBoolean());

        Assert.Equal("closed", up.GetProperty("circuit").GetString());
        Assert.True(up.GetProperty("connected").GetBoolean());
        Assert.Matches("cacheproxy_redis_connected\\{otel_scope_name=\"CacheProxy\\.Redis\"[^}]*\\} 1", scraped);
    }

    [Fact]
    public async Task AnOpenDashboardStream_DoesNotHoldTheDrain()
    {
        await using var origin = await TestOrigin.StartAsync();
        // A shutdown timeout longer than the wait for the exit below: a stream held open to the end would fail the test.
        await using var gateway = GatewayProcess.Start("Production", origin.Address,
            ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key), ("CacheProxy__Shutdown__Timeout", "00:03:00"));
        await gateway.WaitStartedAsync();
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{gateway.ManagementPort}/dashboard/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PurgeTests.Key);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("event: stats", await reader.ReadLineAsync());

        await gateway.TerminateAsync();
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60)); // the server ends the stream
        await gateway.WaitExitAsync();

        Assert.Equal(0, gateway.ExitCode);
        Assert.Contains("data: ", rest, StringComparison.Ordinal);
    }
}
