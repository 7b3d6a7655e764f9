using CacheProxy.Configuration;
using CacheProxy.Tests.GraphQL;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Redis;

/// <summary>GraphQL on two instances sharing Redis: a mutation through one purges its entities on both.</summary>
public sealed class GraphQLAcrossInstancesTests
{
    [Fact]
    public async Task AMutationThroughOneInstance_PurgesItsEntitiesOnTheOther()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = await TestOrigin.StartAsync();
        var graphQL = new GraphQLOrigin();
        origin.Handler = graphQL.HandleAsync;
        static void Configure(CacheProxyOptions o) => GraphQLTests.Configure(o.Routes["all"] = new RouteCacheOptions(), g => g.PurgeOnMutation = true);
        await using var a = await RedisTierTests.GatewayAsync(origin, redis.Endpoint, configure: Configure);
        await using var b = await RedisTierTests.GatewayAsync(origin, redis.Endpoint, configure: Configure);
        await RedisTierTests.WaitForRedisAsync(a);
        await RedisTierTests.WaitForRedisAsync(b);

        await GraphQLTests.PostAsync(a.Client, GraphQLTests.ProductQuery, new { id = "42" });
        await RedisTierTests.WaitForStoredAsync(a, 1);
        Assert.StartsWith("CacheProxy; hit", (await GraphQLTests.PostAsync(b.Client, GraphQLTests.ProductQuery, new { id = "42" })).CacheStatus()); // from Redis

        await GraphQLTests.PostAsync(a.Client, "mutation { setPrice(id: \"42\", price: 99) { __typename id price } }");
        var onB = await GraphQLTests.PostAsync(b.Client, GraphQLTests.ProductQuery, new { id = "42" });

        Assert.DoesNotContain("hit", onB.CacheStatus());
        Assert.Contains("\"price\":99", await onB.Content.ReadAsStringAsync());
        Assert.Equal(2, graphQL.Queries);
    }
}
