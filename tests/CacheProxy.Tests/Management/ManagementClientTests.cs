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
    public void TheClient_IsGeneratedFromTheDocumentInDocs()
    {
        var root = Gateway.OperationsDocsTests.RepoRoot();
        var document = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, "docs", "management-api.openapi.json"))));
        var madeFrom = File.ReadAllText(Path.Combine(root, "src", "CacheProxy.Management.Client", "Generated", "openapi.sha256")).Trim();

        Assert.True(document == madeFrom, "docs/management-api.openapi.json changed and the client was not regenerated: run tests/openapi.sh");
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
