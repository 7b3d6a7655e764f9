using BenchmarkDotNet.Attributes;
using CacheProxy.GraphQL;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Benchmarks;

/// <summary>
/// A GraphQL POST hit (issue #29) through the whole UseCacheProxy() pipeline, its body remembered so the hit does not
/// parse, against a plain GET hit of the same bytes; and what parsing and normalizing the query costs, which the
/// remembered body saves on every hit.
/// </summary>
[MemoryDiagnoser]
public class GraphQLBenchmarks
{
    private const string Query = """
        query ProductPage($id: ID!, $currency: Currency = EUR) {
          product(id: $id) {
            __typename id name description
            price(currency: $currency) { amount currency }
            images(first: 4) { url width height alt }
            reviews(first: 3, orderBy: { field: CREATED_AT, direction: DESC }) { id rating text author { id name } }
          }
        }
        """;

    private readonly byte[] _requestBody = System.Text.Encoding.UTF8.GetBytes(
        System.Text.Json.JsonSerializer.Serialize(new { query = Query, operationName = "ProductPage", variables = new { id = "42", currency = "EUR" } }));
    private readonly byte[] _responseBody = System.Text.Encoding.UTF8.GetBytes(
        "{\"data\":{\"product\":{\"__typename\":\"Product\",\"id\":\"42\",\"name\":\"" + new string('n', 900) + "\"}}}");
    private ServiceProvider _services = null!;
    private Endpoint _endpoint = null!;
    private RequestDelegate _pipeline = null!;
    private DefaultHttpContext _post = null!;
    private DefaultHttpContext _get = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = BenchmarkHost.Services();
        services.AddCacheProxy(o =>
        {
            var route = o.Routes["all"] = new Configuration.RouteCacheOptions();
            route.GraphQL.Enabled = true;
            route.GraphQL.Key = Configuration.GraphQLKeyScope.Shared;
        });
        _services = services.BuildServiceProvider();
        _endpoint = BenchmarkHost.ProxiedEndpoint();
        var app = new ApplicationBuilder(_services);
        app.UseCacheProxy();
        app.Run(c =>
        {
            c.Response.Headers.CacheControl = "public, max-age=3600";
            c.Response.ContentType = "application/json";
            c.Response.ContentLength = _responseBody.Length;
            return c.Response.Body.WriteAsync(_responseBody).AsTask();
        });
        _pipeline = app.Build();
        _post = NewContext(HttpMethods.Post);
        _get = NewContext(HttpMethods.Get);
        for (var i = 0; i < 2; i++)
        {
            PostHit().GetAwaiter().GetResult(); // stored, then served
            GetHit().GetAwaiter().GetResult();
        }
        BenchmarkHost.EnsureHit(_post, _responseBody.Length);
        BenchmarkHost.EnsureHit(_get, _responseBody.Length);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private DefaultHttpContext NewContext(string method) =>
        BenchmarkHost.Routed(_services, _endpoint, method, method == HttpMethods.Post ? "/graphql" : "/plain");

    /// <summary>A plain GET hit of the bytes the query answers with.</summary>
    [Benchmark(Baseline = true)]
    public Task GetHit() => Hit(_get);

    /// <summary>The GraphQL POST hit: the body read, looked up by its bytes, the key built as a string.</summary>
    [Benchmark]
    public Task PostHit()
    {
        _post.Request.ContentType = "application/json";
        _post.Request.ContentLength = _requestBody.Length;
        _post.Request.Body = new MemoryStream(_requestBody, writable: false);
        return Hit(_post);
    }

    /// <summary>What a hit would cost more if it parsed: the query parsed, normalized and printed.</summary>
    [Benchmark]
    public string? Normalize() => GraphQLDocuments.Normalize(Query, "ProductPage", out _)?.Canonical;

    private Task Hit(DefaultHttpContext context) => BenchmarkHost.ServeAsync(_pipeline, context);
}
