using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.GraphQL;

/// <summary>
/// A small GraphQL server for tests, hand-written over the parser the gateway uses: <c>product(id)</c>,
/// <c>products</c> and <c>shop</c> queries, and the <c>setPrice(id, price)</c> mutation, over GET and POST
/// (JSON or application/graphql), with Apollo's persisted queries. Products answer with <c>__typename</c> and
/// <c>id</c>; what a test sets adds errors, hints or headers.
/// </summary>
public sealed class GraphQLOrigin
{
    private readonly ConcurrentDictionary<string, string> _persisted = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, decimal> Prices { get; } = new() { ["1"] = 10m, ["2"] = 20m, ["42"] = 42m };

    /// <summary>Gets or sets the Cache-Control of query responses; null sends none.</summary>
    public string? CacheControl { get; set; } = "max-age=60";

    /// <summary>Gets or sets the <c>extensions.cacheControl.hints</c> added to query responses, or null.</summary>
    public JsonArray? Hints { get; set; }

    /// <summary>Gets or sets an error message added to query responses' <c>errors</c>, or null.</summary>
    public string? Error { get; set; }

    /// <summary>Gets how many operations reached the origin, by type.</summary>
    public ConcurrentDictionary<string, int> Operations { get; } = new();

    public int Queries => Operations.GetValueOrDefault("query");

    public async Task HandleAsync(HttpContext http)
    {
        string? query, operationName = null;
        JsonObject? variables = null, extensions = null;
        if (HttpMethods.IsGet(http.Request.Method))
        {
            query = http.Request.Query["query"];
            operationName = http.Request.Query["operationName"];
            variables = http.Request.Query["variables"] is { Count: > 0 } v ? JsonNode.Parse(v.ToString())?.AsObject() : null;
            extensions = http.Request.Query["extensions"] is { Count: > 0 } e ? JsonNode.Parse(e.ToString())?.AsObject() : null;
        }
        else if (http.Request.ContentType?.StartsWith("application/graphql", StringComparison.Ordinal) == true)
        {
            query = await new StreamReader(http.Request.Body).ReadToEndAsync();
        }
        else
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            query = body["query"]?.GetValue<string>();
            operationName = body["operationName"]?.GetValue<string>();
            variables = body["variables"]?.AsObject();
            extensions = body["extensions"]?.AsObject();
        }
        var hash = extensions?["persistedQuery"]?["sha256Hash"]?.GetValue<string>();
        if (hash is not null)
        {
            if (query is null && !_persisted.TryGetValue(hash, out query))
            {
                await WriteAsync(http, new JsonObject { ["errors"] = new JsonArray(new JsonObject { ["message"] = "PersistedQueryNotFound" }) }, cache: false);
                return;
            }
            _persisted[hash] = query!;
        }
        var document = Parser.Parse(query!);
        var operation = document.Definitions.OfType<GraphQLOperationDefinition>()
            .First(o => operationName is null || o.Name?.StringValue == operationName);
        Operations.AddOrUpdate(operation.Operation.ToString().ToLowerInvariant(), 1, (_, n) => n + 1);
        var data = new JsonObject();
        foreach (var field in operation.SelectionSet.Selections.OfType<GraphQLField>())
        {
            var name = field.Alias?.Name.StringValue ?? field.Name.StringValue;
            string Argument(string argument) => field.Arguments?.Items.First(a => a.Name.StringValue == argument).Value switch
            {
                GraphQLVariable variable => variables![variable.Name.StringValue]!.ToString(),
                GraphQLStringValue text => text.Value.ToString(),
                GraphQLIntValue number => number.Value.ToString(),
                GraphQLFloatValue number => number.Value.ToString(),
                var other => other!.ToString()!,
            };
            data[name] = field.Name.StringValue switch
            {
                "product" => Product(Argument("id")),
                "products" => new JsonArray([.. Prices.Keys.Order(StringComparer.Ordinal).Select(Product)]),
                "shop" => new JsonObject { ["name"] = "test shop" },
                "setPrice" => SetPrice(Argument("id"), decimal.Parse(Argument("price"), System.Globalization.CultureInfo.InvariantCulture)),
                _ => null,
            };
        }
        var response = new JsonObject { ["data"] = data };
        var isQuery = operation.Operation == OperationType.Query;
        if (isQuery && Error is not null)
        {
            response["errors"] = new JsonArray(new JsonObject { ["message"] = Error });
        }
        if (isQuery && Hints is not null)
        {
            response["extensions"] = new JsonObject { ["cacheControl"] = new JsonObject { ["version"] = 1, ["hints"] = Hints.DeepClone() } };
        }
        await WriteAsync(http, response, cache: isQuery);
    }

    private JsonObject? Product(string id) => Prices.TryGetValue(id, out var price)
        ? new JsonObject { ["__typename"] = "Product", ["id"] = id, ["price"] = price }
        : null;

    private JsonObject? SetPrice(string id, decimal price)
    {
        Prices[id] = price;
        return Product(id);
    }

    private async Task WriteAsync(HttpContext http, JsonObject response, bool cache)
    {
        if (cache && CacheControl is not null)
        {
            http.Response.Headers.CacheControl = CacheControl;
        }
        var bytes = JsonSerializer.SerializeToUtf8Bytes(response);
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = bytes.Length;
        await http.Response.Body.WriteAsync(bytes);
    }
}
