using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Management;

/// <summary>
/// The management API's OpenAPI document (docs/management-api.md): served on the management plane, behind its key,
/// describing every management endpoint; docs/management-api.openapi.json is kept equal to it. After a change to the
/// management API, regenerate the copy with <c>CACHEPROXY_UPDATE_OPENAPI=1</c> set for this test (tests/openapi.sh).
/// </summary>
public sealed class OpenApiDocumentTests
{
    private static readonly string Copy = Path.Combine(Gateway.OperationsDocsTests.RepoRoot(), "docs", "management-api.openapi.json");

    private static async Task<(HttpStatusCode Status, string Body)> GetDocumentAsync(ProxyFixture proxy, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        var response = await proxy.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task<ProxyFixture> StartAsync() => ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true,
        features: b => b.AddPrometheus()); // every management endpoint the sample gateway maps

    [Fact]
    public async Task TheServedDocument_IsTheCopyInDocs()
    {
        await using var proxy = await StartAsync();

        var (status, served) = await GetDocumentAsync(proxy, PurgeTests.Key);
        if (Environment.GetEnvironmentVariable("CACHEPROXY_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(Copy, served);
        }

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(File.Exists(Copy), $"{Copy} is missing: run tests/openapi.sh");
        Assert.True(served == (await File.ReadAllTextAsync(Copy)).ReplaceLineEndings("\n"),
            "The management API changed and docs/management-api.openapi.json did not: run tests/openapi.sh, then regenerate the clients.");
    }

    [Fact]
    public async Task TheDocument_DescribesEveryManagementEndpoint_WithTheKeyAndTheProblems()
    {
        await using var proxy = await StartAsync();

        var (unauthorized, _) = await GetDocumentAsync(proxy, key: null);
        var (_, body) = await GetDocumentAsync(proxy, PurgeTests.Key);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var operations = root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Path: p.Name, Method: o.Name, Operation: o.Value))).ToList();

        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized); // the management plane's key, as for every endpoint there
        Assert.StartsWith("3.1", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal(
            ["delete /warm", "get /dashboard/events", "get /health", "get /health/live", "get /health/ready", "get /inspect", "get /maintenance", "get /metrics",
                "get /purge/forwarding", "get /purge/forwarding/{id}", "get /stats", "get /warm", "post /maintenance", "post /purge", "post /warm"],
            operations.Select(o => $"{o.Method} {o.Path}").Order(StringComparer.Ordinal));
        Assert.All(operations, o =>
        {
            Assert.False(string.IsNullOrEmpty(o.Operation.GetProperty("operationId").GetString()));
            Assert.Equal("ApiKey", Assert.Single(o.Operation.GetProperty("security").EnumerateArray()).EnumerateObject().Single().Name);
            Assert.Equal("#/components/schemas/ProblemDetails",
                o.Operation.GetProperty("responses").GetProperty("401").GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString());
        });
        Assert.Equal("bearer", root.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey").GetProperty("scheme").GetString());
        var purge = operations.Single(o => o.Path == "/purge").Operation;
        Assert.Equal("#/components/schemas/PurgeRequest", purge.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(purge.GetProperty("responses").TryGetProperty("400", out _));
        var purgeResponse = root.GetProperty("components").GetProperty("schemas").GetProperty("PurgeResponse").GetProperty("properties");
        Assert.Equal("integer", purgeResponse.GetProperty("purged").GetProperty("type").GetString()); // numbers are numbers: the API reads them strictly
        var inspect = operations.Single(o => o.Path == "/inspect").Operation;
        Assert.Contains(inspect.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "url" && p.GetProperty("required").GetBoolean());
    }
}
