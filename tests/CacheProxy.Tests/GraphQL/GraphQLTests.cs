using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.GraphQL;

/// <summary>GraphQL caching through the real gateway, in front of a small GraphQL origin (docs/graphql.md).</summary>
public sealed class GraphQLTests
{
    internal const string ProductQuery = "query GetProduct($id: ID!) { product(id: $id) { __typename id price } }";

    internal static async Task<(ProxyFixture Proxy, GraphQLOrigin GraphQL)> StartAsync(Action<RouteGraphQLOptions>? graphQL = null,
        Action<CacheProxyOptions>? configure = null)
    {
        var origin = new GraphQLOrigin();
        var proxy = await ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            Configure(o.Routes["all"] = new RouteCacheOptions(), graphQL);
            configure?.Invoke(o);
        }, mapManagement: true);
        proxy.Origin.Handler = origin.HandleAsync;
        return (proxy, origin);
    }

    internal static void Configure(RouteCacheOptions route, Action<RouteGraphQLOptions>? graphQL)
    {
        route.GraphQL.Enabled = true;
        route.GraphQL.Key = GraphQLKeyScope.Shared;
        graphQL?.Invoke(route.GraphQL);
    }

    internal static async Task<HttpResponseMessage> PostAsync(HttpClient client, string? query, object? variables = null, string? operationName = null,
        object? extensions = null, params (string Name, string Value)[] headers)
    {
        var body = new JsonObject();
        if (query is not null)
        {
            body["query"] = query;
        }
        if (operationName is not null)
        {
            body["operationName"] = operationName;
        }
        if (variables is not null)
        {
            body["variables"] = JsonSerializer.SerializeToNode(variables);
        }
        if (extensions is not null)
        {
            body["extensions"] = JsonSerializer.SerializeToNode(extensions);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return await client.SendAsync(request);
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task TwoSpellingsOfOneQuery_AndItsGetForm_ShareOneEntry()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;

        var first = await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        Assert.Contains("stored", first.CacheStatus());
        // Other whitespace, a comment, commas, and the variables' members in another order (with an extra one in an object).
        var respelled = await PostAsync(proxy.Client, "# the product page\nquery GetProduct( $id : ID! ) {\n  product( id: $id ) ,{ __typename, id price }\n}",
            new { id = "42" });
        var asGet = await proxy.GetAsync("/graphql?query=" + Uri.EscapeDataString(ProductQuery) + "&variables=" + Uri.EscapeDataString("{\"id\":\"42\"}"));

        Assert.StartsWith("CacheProxy; hit", respelled.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", asGet.CacheStatus());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await respelled.Content.ReadAsStringAsync());
        Assert.Equal(1, origin.Queries);
        Assert.Contains("detail=\"graphql GetProduct\"", respelled.CacheStatus());
    }

    [Fact]
    public async Task ArgumentsAndInputFieldsInAnotherOrder_AreOneQuery_ButFieldOrderIsNot()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;

        await PostAsync(proxy.Client, "{ a: product(id: \"1\") { id price } shop { name } }");
        var sameInOtherWords = await PostAsync(proxy.Client, "query { a: product(id: \"1\") { id, price }, shop { name } }");
        var fieldsReordered = await PostAsync(proxy.Client, "{ shop { name } a: product(id: \"1\") { id price } }");

        Assert.StartsWith("CacheProxy; hit", sameInOtherWords.CacheStatus());
        Assert.DoesNotContain("hit", fieldsReordered.CacheStatus()); // the response's fields follow the selection's order
        Assert.Equal(2, origin.Queries);
    }

    [Fact]
    public async Task DifferentQueries_NeverShareAnEntry()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        const string twoOperations = "query A { product(id: \"1\") { id } } query B { product(id: \"2\") { id } }";

        var one = await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        var two = await PostAsync(proxy.Client, ProductQuery, new { id = "2" });
        var a = await PostAsync(proxy.Client, twoOperations, operationName: "A");
        var b = await PostAsync(proxy.Client, twoOperations, operationName: "B");
        var moreFields = await PostAsync(proxy.Client, "query GetProduct($id: ID!) { product(id: $id) { __typename id price name: id } }", new { id = "1" });

        Assert.All([one, two, a, b, moreFields], r => Assert.DoesNotContain("hit", r.CacheStatus()));
        Assert.Equal(5, origin.Queries);
        Assert.Contains("\"id\":\"2\"", await two.Content.ReadAsStringAsync());
        Assert.Contains("\"id\":\"2\"", await b.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PersistedQueries_ShareTheQuerysEntry_AndAMismatchedHashIsRefused()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        var hash = Sha256(ProductQuery);
        var persisted = new { persistedQuery = new { version = 1, sha256Hash = hash } };

        var unknown = await PostAsync(proxy.Client, null, new { id = "1" }, extensions: persisted); // the origin does not know it yet either
        var registered = await PostAsync(proxy.Client, ProductQuery, new { id = "1" }, extensions: persisted);
        var byHash = await PostAsync(proxy.Client, null, new { id = "1" }, extensions: persisted);
        var plain = await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        var mismatch = await PostAsync(proxy.Client, ProductQuery.Replace("price", "id"), new { id = "1" }, extensions: persisted);

        Assert.Contains("detail=graphql", unknown.CacheStatus()); // passed: nothing tells a query from a mutation here
        Assert.Contains("PersistedQueryNotFound", await unknown.Content.ReadAsStringAsync());
        Assert.Contains("stored", registered.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", byHash.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", plain.CacheStatus());
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal("application/problem+json", mismatch.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await mismatch.Content.ReadAsStringAsync())!;
        Assert.Equal("provided sha does not match query", problem["errors"]![0]!["message"]!.GetValue<string>());
        Assert.Equal(1, origin.Queries);
    }

    [Fact]
    public async Task AResponseWithErrors_IsNotStored_UnlessTheRouteSaysSo()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        origin.Error = "resolver failed";

        var first = await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        var second = await PostAsync(proxy.Client, ProductQuery, new { id = "1" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("resolver failed", await first.Content.ReadAsStringAsync());
        Assert.DoesNotContain("stored", first.CacheStatus());
        Assert.DoesNotContain("hit", second.CacheStatus());
        Assert.Equal(2, origin.Queries);

        var (kept, keptOrigin) = await StartAsync(g => g.CacheErrors = true);
        await using var __ = kept;
        keptOrigin.Error = "partial";
        await PostAsync(kept.Client, ProductQuery, new { id = "1" });
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(kept.Client, ProductQuery, new { id = "1" })).CacheStatus());
    }

    [Fact]
    public async Task TheSmallestHint_ShortensTheOriginsFreshness()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        origin.Hints = [new JsonObject { ["path"] = new JsonArray("product"), ["maxAge"] = 30 }, new JsonObject { ["path"] = new JsonArray("product", "price"), ["maxAge"] = 10 }];

        await PostAsync(proxy.Client, ProductQuery, new { id = "1" }); // Cache-Control: max-age=60
        proxy.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "1" })).CacheStatus());
        proxy.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "1" })).CacheStatus());
        Assert.Equal(2, origin.Queries);
    }

    [Fact]
    public async Task AHintLongerThanTheOrigins_DoesNotLengthenIt_AndAloneGivesFreshness()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        origin.Hints = [new JsonObject { ["maxAge"] = 600 }];
        origin.CacheControl = "max-age=5";

        await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        proxy.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "1" })).CacheStatus());

        origin.CacheControl = null; // no freshness from the origin: the hint's is explicit
        await PostAsync(proxy.Client, ProductQuery, new { id = "2" });
        proxy.Time.Advance(TimeSpan.FromSeconds(599));
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "2" })).CacheStatus());
    }

    [Fact]
    public async Task APrivateHint_IsNotShared_ButIsKeptPerCallerOnARouteKeyedOnTheCaller()
    {
        var (shared, sharedOrigin) = await StartAsync();
        await using var _ = shared;
        sharedOrigin.Hints = [new JsonObject { ["maxAge"] = 60, ["scope"] = "PRIVATE" }];
        await PostAsync(shared.Client, ProductQuery, new { id = "1" });
        Assert.DoesNotContain("hit", (await PostAsync(shared.Client, ProductQuery, new { id = "1" })).CacheStatus());

        var (perCaller, origin) = await StartAsync(g => g.Key = GraphQLKeyScope.PerCaller);
        await using var __ = perCaller;
        origin.Hints = [new JsonObject { ["maxAge"] = 60, ["scope"] = "PRIVATE" }];
        await PostAsync(perCaller.Client, ProductQuery, new { id = "1" }, headers: ("Authorization", "Bearer alice"));
        var alice = await PostAsync(perCaller.Client, ProductQuery, new { id = "1" }, headers: ("Authorization", "Bearer alice"));
        var bob = await PostAsync(perCaller.Client, ProductQuery, new { id = "1" }, headers: ("Authorization", "Bearer bob"));
        var anonymous = await PostAsync(perCaller.Client, ProductQuery, new { id = "1" });

        Assert.StartsWith("CacheProxy; hit", alice.CacheStatus());
        Assert.DoesNotContain("hit", bob.CacheStatus());
        Assert.DoesNotContain("stored", anonymous.CacheStatus()); // PRIVATE, and no caller to key on
        Assert.Equal(3, origin.Queries);
    }

    [Fact]
    public async Task EntityTags_LetAPurgeOfOneProductDropEveryQueryHoldingIt()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        await PostAsync(proxy.Client, "{ products { __typename id price } }");

        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "Product:42" } })).EnsureSuccessStatusCode();

        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "42" })).CacheStatus());
        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, "{ products { __typename id price } }")).CacheStatus());
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "1" })).CacheStatus());
        Assert.Equal(5, origin.Queries);
    }

    [Fact]
    public async Task EntityTags_AreBounded_AndTheRestDroppedWithAnEvent()
    {
        var (proxy, origin) = await StartAsync(g => g.MaxEntityTags = 2);
        await using var _ = proxy;

        await PostAsync(proxy.Client, "{ products { __typename id price } }"); // three products

        await proxy.WaitForLogAsync("GraphQLEntityTagsDropped");
        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "Product:42" } })).EnsureSuccessStatusCode(); // the third: not tagged
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, "{ products { __typename id price } }")).CacheStatus());
        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "Product:1" } })).EnsureSuccessStatusCode();
        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, "{ products { __typename id price } }")).CacheStatus());
    }

    [Fact]
    public async Task KeyFields_NameAnEntitysIdentity()
    {
        var (proxy, origin) = await StartAsync(g => g.KeyFields["Product"] = ["price"]);
        await using var _ = proxy;
        await PostAsync(proxy.Client, ProductQuery, new { id = "42" });

        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "Product:42" } })).EnsureSuccessStatusCode(); // price 42 too

        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "42" })).CacheStatus());
        (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "operation:GetProduct" } })).EnsureSuccessStatusCode();
        Assert.DoesNotContain("hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "42" })).CacheStatus());
    }

    [Fact]
    public async Task Mutations_AreNeverCached_AndPurgeTheEntitiesTheyReturnWhenTheRouteSaysSo()
    {
        const string setPrice = "mutation SetPrice($id: ID!, $price: Float!) { setPrice(id: $id, price: $price) { __typename id price } }";
        var (proxy, origin) = await StartAsync(g => g.PurgeOnMutation = true);
        await using var _ = proxy;
        await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        await PostAsync(proxy.Client, ProductQuery, new { id = "1" });

        var set = await PostAsync(proxy.Client, setPrice, new { id = "42", price = 50 });
        var again = await PostAsync(proxy.Client, setPrice, new { id = "42", price = 50 });

        Assert.Equal(2, origin.Operations["mutation"]);
        Assert.DoesNotContain("stored", set.CacheStatus());
        var product = await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        Assert.DoesNotContain("hit", product.CacheStatus());
        Assert.Contains("\"price\":50", await product.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "1" })).CacheStatus());
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "GraphQLMutationPurged" && r.Message.Contains("Product:42", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutPurgeOnMutation_AMutationLeavesStoredQueriesAlone()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        await PostAsync(proxy.Client, ProductQuery, new { id = "42" });

        await PostAsync(proxy.Client, "mutation { setPrice(id: \"42\", price: 7) { __typename id price } }");

        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, ProductQuery, new { id = "42" })).CacheStatus());
    }

    [Fact]
    public async Task ABodyOverTheBound_AndWhatDoesNotParse_PassToTheOriginWhole()
    {
        var (proxy, origin) = await StartAsync(g => g.MaxBodySize = 1024);
        await using var _ = proxy;
        var padded = ProductQuery.Replace("{ __typename", "{ " + string.Concat(Enumerable.Repeat("__typename ", 120)) + "__typename");

        var large = await PostAsync(proxy.Client, padded, new { id = "1" });
        var broken = await PostAsync(proxy.Client, "query { product(id: \"1\") { id ", null);
        var subscription = await PostAsync(proxy.Client, "subscription { shop { name } }");
        var deep = await PostAsync(proxy.Client, "{ shop " + string.Concat(Enumerable.Repeat("{ a ", 100)) + string.Concat(Enumerable.Repeat("}", 100)) + " }");
        var notJson = await proxy.Client.PostAsync("/graphql", new StringContent("{\"query\": ", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, large.StatusCode);
        Assert.Contains("\"price\":10", await large.Content.ReadAsStringAsync()); // the origin read the whole body
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", large.CacheStatus());
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", subscription.CacheStatus());
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", broken.CacheStatus());
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", deep.CacheStatus()); // deeper than the parser's bound: the origin's to answer
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", notJson.CacheStatus());
    }

    [Fact]
    public async Task ApplicationGraphQLBodies_AreReadToo()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        async Task<HttpResponseMessage> SendAsync() =>
            await proxy.Client.PostAsync("/graphql", new StringContent("{ shop { name } }", Encoding.UTF8, "application/graphql"));

        await SendAsync();

        Assert.StartsWith("CacheProxy; hit", (await SendAsync()).CacheStatus());
        Assert.StartsWith("CacheProxy; hit", (await PostAsync(proxy.Client, "query { shop { name } }")).CacheStatus());
    }

    [Fact]
    public async Task StaleWhileRevalidate_RefreshesAPostQueryWithItsBody()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        origin.CacheControl = "max-age=10, stale-while-revalidate=60";
        await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        origin.Prices["42"] = 43m;
        proxy.Time.Advance(TimeSpan.FromSeconds(11));

        var stale = await PostAsync(proxy.Client, ProductQuery, new { id = "42" });
        await proxy.WaitForRefreshesAsync();
        var refreshed = await PostAsync(proxy.Client, ProductQuery, new { id = "42" });

        Assert.Contains("\"price\":42", await stale.Content.ReadAsStringAsync());
        Assert.Contains("\"price\":43", await refreshed.Content.ReadAsStringAsync());
        Assert.StartsWith("CacheProxy; hit", refreshed.CacheStatus());
        Assert.Equal(2, origin.Queries);
    }

    [Fact]
    public async Task AGraphQLRouteWithoutAKeyRule_IsRefusedAtStartup_WithItsKey()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o =>
        {
            o.Routes["all"] = new RouteCacheOptions();
            o.Routes["all"].GraphQL.Enabled = true;
            o.Routes["all"].GraphQL.MaxEntityTags = 0;
        }));

        Assert.Contains("CacheProxy:Routes:all:GraphQL:Key must be set on a GraphQL route", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Routes:all:GraphQL:MaxEntityTags must be between 1 and 1000 (was 0)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InspectAndCacheStatus_ShowTheOperationAndItsTags()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        var first = await PostAsync(proxy.Client, ProductQuery, new { id = "42" }); // stored from a POST, inspected as its GET form

        var url = "http://localhost/graphql?query=" + Uri.EscapeDataString("query GetProduct($id: ID!) { product(id: $id) { __typename id price } }")
            + "&variables=" + Uri.EscapeDataString("{\"id\":\"42\"}");
        var (status, body) = await CacheProxy.Tests.Management.InspectTests.InspectAsync(proxy, url);

        Assert.Contains("detail=\"graphql GetProduct\"", first.CacheStatus());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("stored").GetBoolean());
        Assert.Equal("GetProduct", body.GetProperty("graphql").GetProperty("operation").GetString());
        Assert.Equal(["Product:42", "operation:GetProduct"], body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task APrivateHint_IsKeptPerCaller_WhenAPerCallerRouteKeysOnTheirCookie()
    {
        var (proxy, origin) = await StartAsync(g => g.Key = GraphQLKeyScope.PerCaller, o =>
        {
            o.Routes["all"].Key.Cookies.Add("sid");
            o.Routes["all"].Key.ForwardOnlyKeyedCookies = true;
        });
        await using var _ = proxy;
        origin.Hints = [new JsonObject { ["maxAge"] = 60, ["scope"] = "PRIVATE" }];

        await PostAsync(proxy.Client, ProductQuery, new { id = "1" }, headers: ("Cookie", "sid=alice"));
        var alice = await PostAsync(proxy.Client, ProductQuery, new { id = "1" }, headers: ("Cookie", "sid=alice; theme=dark"));
        var bob = await PostAsync(proxy.Client, ProductQuery, new { id = "1" }, headers: ("Cookie", "sid=bob"));

        Assert.StartsWith("CacheProxy; hit", alice.CacheStatus());
        Assert.DoesNotContain("hit", bob.CacheStatus());
    }

    [Fact]
    public async Task ConcurrentPostsOfOneQuery_AreCollapsedIntoOneFetch()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            await origin.HandleAsync(c);
        };

        var first = PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1);
        var second = PostAsync(proxy.Client, "query GetProduct($id: ID!) {product(id: $id) {__typename id price}}", new { id = "1" });
        await proxy.WaitForCollapseWaitersAsync(1);
        release.SetResult();

        Assert.Contains("stored", (await first).CacheStatus());
        Assert.Contains("collapsed", (await second).CacheStatus());
        Assert.Equal(1, origin.Queries);
    }

    [Fact]
    public async Task StaleIfError_ServesTheStoredQuery_WhenTheOriginFails()
    {
        var (proxy, origin) = await StartAsync();
        await using var _ = proxy;
        origin.CacheControl = "max-age=10, stale-if-error=60";
        await PostAsync(proxy.Client, ProductQuery, new { id = "1" });
        proxy.Time.Advance(TimeSpan.FromSeconds(11));
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        };

        var stale = await PostAsync(proxy.Client, ProductQuery, new { id = "1" });

        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Contains("\"price\":10", await stale.Content.ReadAsStringAsync());
        Assert.Contains("fwd-status=503", stale.CacheStatus());
    }

    [Fact]
    public async Task ABodyWithoutContentLength_IsReadUpToTheBound_AndForwardedWholeEitherWay()
    {
        var (proxy, origin) = await StartAsync(g => g.MaxBodySize = 1024);
        await using var _ = proxy;
        async Task<HttpResponseMessage> ChunkedAsync(string query)
        {
            var json = JsonSerializer.Serialize(new { query, variables = new { id = "1" } });
            using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json))); // no length: sent chunked
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            content.Headers.ContentLength = null;
            return await proxy.Client.PostAsync("/graphql", content);
        }

        await ChunkedAsync(ProductQuery);
        var hit = await ChunkedAsync(ProductQuery);
        var large = await ChunkedAsync(ProductQuery.Replace("{ __typename", "{ " + string.Concat(Enumerable.Repeat("__typename ", 120)) + "__typename"));

        Assert.StartsWith("CacheProxy; hit", hit.CacheStatus());
        Assert.Equal("CacheProxy; fwd=bypass; detail=graphql", large.CacheStatus());
        Assert.All(proxy.Origin.Seen, r => Assert.False(r.Headers.ContainsKey("Content-Length"))); // the path without a length was taken
        Assert.Contains("\"price\":10", await large.Content.ReadAsStringAsync());
    }
}
