using System.Security.Cryptography;
using CacheProxy.Management.Client;
using CacheProxy.Management.Client.Models;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Management;

/// <summary>The C# client generated from the management API's document (CacheProxy.Management.Client), against a real gateway.</summary>
public sealed class ManagementClientTests
{
    private static Task<ProxyFixture> StartAsync() => ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true);

    [Fact]
    public void TheClients_AreGeneratedFromTheDocumentInDocs()
    {
        var root = Gateway.OperationsDocsTests.RepoRoot();
        var document = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, "docs", "management-api.openapi.json"))));
        string MadeFrom(params string[] folder) => File.ReadAllText(Path.Combine([root, "src", .. folder, "openapi.sha256"])).Trim();

        Assert.True(document == MadeFrom("CacheProxy.Management.Client", "Generated"),
            "docs/management-api.openapi.json changed and the C# client was not regenerated: run tests/openapi.sh");
        Assert.True(document == MadeFrom("CacheProxy.Management.Client.TypeScript", "src", "generated"),
            "docs/management-api.openapi.json changed and the TypeScript client was not regenerated: run tests/openapi.sh");
    }

    [Fact]
    public async Task TheTypeScriptClient_Purges_Inspects_AndReadsStats_OfARealGateway()
    {
        var package = Path.Combine(Gateway.OperationsDocsTests.RepoRoot(), "src", "CacheProxy.Management.Client.TypeScript");
        await RunAsync(package, "npm", "ci", "--no-audit", "--no-fund"); // the lock file's versions, from the npm registry
        await RunAsync(package, "npx", "tsc", "-p", ".");
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers["Surrogate-Key"] = "item";
            return c.Response.WriteAsync("an item");
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, ("CacheProxy__Management__ApiKeys__ops", PurgeTests.Key));
        await gateway.WaitStartedAsync();
        var url = $"http://127.0.0.1:{gateway.PublicPort}/items/1";
        var management = $"http://127.0.0.1:{gateway.ManagementPort}";
        using var http = new HttpClient();
        await http.GetStringAsync(url);
        var client = CacheProxyManagement.Create(new Uri(management), PurgeTests.Key);
        await Signal.WaitUntilAsync(async () => (await client.Inspect.GetAsync(q => q.QueryParameters.Url = url))?.Stored == true); // stored once written

        var printed = await RunAsync(package, "node", "test/smoke.mjs", management, PurgeTests.Key, url);
        var result = System.Text.Json.JsonDocument.Parse(printed).RootElement;

        Assert.True(result.GetProperty("stored").GetBoolean());
        Assert.Equal("item", Assert.Single(result.GetProperty("tags").EnumerateArray()).GetString());
        Assert.Equal(1, result.GetProperty("purged").GetInt32());
        Assert.False(result.GetProperty("storedAfter").GetBoolean());
        Assert.True(result.GetProperty("requests").GetInt64() >= 1);
        Assert.Equal(400, result.GetProperty("refused").GetProperty("status").GetInt32()); // the gateway's problem, as the client's error
        Assert.Contains("at least one", result.GetProperty("refused").GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Runs a command in <paramref name="folder"/> within two minutes; its standard output, or the test fails with both outputs.</summary>
    private static async Task<string> RunAsync(string folder, string command, params string[] arguments)
    {
        var (exitCode, output, error) = await ExternalProcess.RunAsync(new System.Diagnostics.ProcessStartInfo(command, arguments) { WorkingDirectory = folder },
            TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, $"{command} {string.Join(' ', arguments)} exited {exitCode}: {output} {error}");
        return output;
    }

    [Fact]
    public async Task Purge_Inspect_AndStats_GoThroughTheGeneratedClient()
    {
        await using var proxy = await StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.Headers["Surrogate-Key"] = "product:42";
            return c.Response.WriteAsync("a product page");
        };
        var client = CacheProxyManagement.Create(proxy.Client.BaseAddress!, PurgeTests.Key, proxy.NewClient());
        var url = new Uri(proxy.Client.BaseAddress!, "/products/42").ToString();
        await proxy.GetAsync("/products/42");

        var stored = await client.Inspect.GetAsync(q => q.QueryParameters.Url = url);
        proxy.Time.Advance(TimeSpan.FromSeconds(1)); // the purge comes after the fill
        var purged = await client.Purge.PostAsync(new PurgeRequest { Tags = ["product:42"] });
        var after = await client.Inspect.GetAsync(q => q.QueryParameters.Url = url);
        var stats = await client.Stats.GetAsync(q => q.QueryParameters.Window = 5);

        Assert.True(stored!.Stored);
        Assert.Equal(["product:42"], stored.Tags);
        Assert.Equal(200, stored.Status);
        Assert.Equal(1, purged!.Purged);
        Assert.False(after!.Stored); // a hard purge removes it
        Assert.InRange(stats!.WindowSeconds!.Value, 0, 5); // at most the window asked for: less when less history is there
        Assert.True(stats.All!.Requests >= 1);
    }

    [Fact]
    public async Task ARefusedCall_ThrowsTheGatewaysProblem()
    {
        await using var proxy = await StartAsync();
        var client = CacheProxyManagement.Create(proxy.Client.BaseAddress!, PurgeTests.Key, proxy.NewClient());

        var invalid = await Assert.ThrowsAsync<ProblemDetails>(() => client.Purge.PostAsync(new PurgeRequest()));
        var noKey = await Assert.ThrowsAsync<ProblemDetails>(() => CacheProxyManagement.Create(proxy.Client.BaseAddress!, "not-a-key", proxy.NewClient()).Stats.GetAsync());

        Assert.Equal(400, invalid.ResponseStatusCode);
        Assert.Contains("at least one", invalid.Detail, StringComparison.Ordinal);
        Assert.Equal(401, noKey.ResponseStatusCode);
    }
}
