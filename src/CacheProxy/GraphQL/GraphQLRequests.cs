using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BitFaster.Caching.Lru;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.GraphQL;

/// <summary>What <see cref="GraphQLRequests.ScreenAsync"/> made of a request on a GraphQL route.</summary>
internal enum GraphQLScreen
{
    /// <summary>Not a GraphQL operation (a GraphiQL page, a POST of another type): cached as any request.</summary>
    None,

    /// <summary>A query: <see cref="CacheContext.GraphQL"/> is set, and the key's parts; a read.</summary>
    Query,

    /// <summary>A mutation: <see cref="CacheContext.GraphQL"/> is set; forwarded, its entities purged when the route says so.</summary>
    Mutation,

    /// <summary>Passed to the origin uncached, for <see cref="GraphQLRequests"/>'s reason (logged): a subscription, a body over the bound, a document that does not parse.</summary>
    Pass,

    /// <summary>Answered already (a persisted query whose hash does not match its text).</summary>
    Refused,
}

/// <summary>
/// Reads the GraphQL operation of a request on a route with <c>GraphQL:Enabled</c> (docs/graphql.md): a GET's
/// <c>query</c>, <c>operationName</c>, <c>variables</c> and <c>extensions</c> parameters, or a POST's JSON body (or
/// <c>application/graphql</c> text), with the persisted-query protocol (<c>extensions.persistedQuery.sha256Hash</c>).
/// A query's key is its URL without those parameters plus a hash of the normalized operation
/// (<see cref="GraphQLDocuments"/>), its name and its variables as canonical JSON — so a GET and a POST of one
/// operation share an entry. Bodies and GET query strings seen before map to their result without parsing again.
/// </summary>
internal sealed class GraphQLRequests
{
    private const int MaxRememberedBody = 16 * 1024;
    private static readonly JsonWriterOptions CanonicalJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly LastGoodOptions _options;
    private readonly CacheProxyMetrics _metrics;
    private readonly ErrorShaping _errors;
    private readonly ILogger _logger;
    // What a body or GET query string was read as, by its bytes: the hit path parses a query once.
    private readonly ConcurrentLru<byte[], Parsed> _bodies = new(1, 2048, BodyComparer.Instance);
    private readonly ConcurrentLru<string, Parsed> _queryStrings = new(1, 2048, StringComparer.Ordinal);
    // Persisted queries whose text came with their hash once and matched: a later request with the hash alone is known.
    private readonly ConcurrentLru<string, Parsed> _persisted = new(1, 4096, StringComparer.Ordinal);

    public GraphQLRequests(LastGoodOptions options, CacheProxyMetrics metrics, ErrorShaping errors, ILoggerFactory loggers)
    {
        _options = options;
        _metrics = metrics;
        _errors = errors;
        _logger = loggers.CreateLogger(LogCategories.Cache);
    }

    /// <summary>The route's GraphQL settings when it caches GraphQL, else null.</summary>
    public RouteGraphQLOptions? For(string routeId) =>
        _options.Current.Routes.TryGetValue(routeId, out var route) && route.GraphQL.Enabled ? route.GraphQL : null;

    /// <summary>Reads the request's operation into <paramref name="context"/>; see <see cref="GraphQLScreen"/>.</summary>
    public async ValueTask<GraphQLScreen> ScreenAsync(CacheContext context, RouteGraphQLOptions route)
    {
        var http = context.HttpContext;
        var request = http.Request;
        Parsed? parsed;
        byte[]? body = null;
        string? keyQuery = null;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            if (!request.Query.ContainsKey("query") && !request.Query.ContainsKey("extensions"))
            {
                return GraphQLScreen.None;
            }
            var raw = request.QueryString.Value!;
            if (!_queryStrings.TryGet(raw, out parsed))
            {
                parsed = Read(request.Query["query"], request.Query["operationName"], request.Query["variables"], request.Query["extensions"], isGet: true);
                if (parsed.Remember)
                {
                    _queryStrings.AddOrUpdate(raw, parsed);
                }
            }
            keyQuery = WithoutGraphQLParameters(request);
        }
        else if (HttpMethods.IsPost(request.Method))
        {
            var mediaType = MediaType(request.ContentType);
            if (mediaType is not ("application/json" or "application/graphql" or "application/graphql+json"))
            {
                return GraphQLScreen.None;
            }
            if (request.ContentLength > route.MaxBodySize)
            {
                return Pass(context, $"a body of {request.ContentLength} bytes, over GraphQL:MaxBodySize");
            }
            body = await ReadBodyAsync(request, route.MaxBodySize, http.RequestAborted);
            if (body is null)
            {
                return Pass(context, "a body over GraphQL:MaxBodySize");
            }
            if (!_bodies.TryGet(body, out parsed))
            {
                parsed = mediaType == "application/graphql" ? ReadText(body) : ReadJson(body);
                if (parsed.Remember && body.Length <= MaxRememberedBody)
                {
                    _bodies.AddOrUpdate(body, parsed);
                }
            }
        }
        else
        {
            return GraphQLScreen.None;
        }
        if (parsed.Refusal is { } refusal)
        {
            await RefuseAsync(context, refusal);
            return GraphQLScreen.Refused;
        }
        if (parsed.PassReason is { } reason)
        {
            return Pass(context, reason);
        }
        var operation = parsed.Operation!;
        if (operation.Type == OperationType.Subscription || (operation.Type == OperationType.Mutation && body is null))
        {
            return Pass(context, operation.Type == OperationType.Subscription ? "a subscription" : "a mutation over GET");
        }
        context.GraphQL = new GraphQLRequest(operation.Type, operation.Name, parsed.KeyValue!, body);
        if (operation.Type == OperationType.Mutation)
        {
            _metrics.GraphQLRequests.Add(1, new KeyValuePair<string, object?>("outcome", "mutation"));
            return GraphQLScreen.Mutation;
        }
        context.KeyQuery = keyQuery ?? string.Empty; // a POST's URL query is not part of the operation: it stays out of the key too
        (context.KeyedHeaders ??= []).Add(new("graphql", parsed.KeyValue!));
        if (route.Key == GraphQLKeyScope.PerCaller)
        {
            if (request.Headers.Authorization is { Count: > 0 } authorization)
            {
                context.KeyedHeaders.Add(new("graphql-caller", Hash(authorization.ToString())));
                context.KeyedOnCaller = true;
            }
            // The route's Key:Cookies (RouteKeying, before this) name the caller too: a PRIVATE hint is theirs then.
            context.KeyedOnCaller |= context.KeyedHeaders.Exists(k => k.Key.StartsWith("cookie:", StringComparison.Ordinal));
        }
        _metrics.GraphQLRequests.Add(1, new KeyValuePair<string, object?>("outcome", "query"));
        return GraphQLScreen.Query;
    }

    /// <summary>
    /// For <c>GET /inspect</c>: the key parts of a URL that is a GraphQL GET query (its query without the GraphQL
    /// parameters, the operation's key value, its name), or null when it is not one.
    /// </summary>
    public (string KeyQuery, string KeyValue, string? OperationName)? KeyPartsOf(HttpRequest request)
    {
        if (!request.Query.ContainsKey("query") && !request.Query.ContainsKey("extensions"))
        {
            return null;
        }
        var parsed = Read(request.Query["query"], request.Query["operationName"], request.Query["variables"], request.Query["extensions"], isGet: true);
        return parsed.Operation is { Type: OperationType.Query } operation ? (WithoutGraphQLParameters(request), parsed.KeyValue!, operation.Name) : null;
    }

    /// <summary>A Cache-Status member with the operation's name as its detail (RFC 9211 §2.8).</summary>
    public static string WithOperation(string member, GraphQLRequest operation) =>
        string.Concat(member, "; detail=\"graphql ", operation.OperationName ?? "anonymous", "\"");

    private GraphQLScreen Pass(CacheContext context, string reason)
    {
        _metrics.GraphQLRequests.Add(1, new KeyValuePair<string, object?>("outcome", "passed"));
        Log.GraphQLPassed(_logger, context.RouteId, reason);
        return GraphQLScreen.Pass;
    }

    private async Task RefuseAsync(CacheContext context, string refusal)
    {
        _metrics.GraphQLRequests.Add(1, new KeyValuePair<string, object?>("outcome", "refused"));
        _metrics.Error(ErrorCategory.Client);
        Log.GraphQLRefused(_logger, context.RouteId, refusal);
        // problem+json as every refusal of the gateway, with the GraphQL errors array the protocol's clients read.
        await _errors.WriteProblemAsync(context.HttpContext, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null), refusal,
            new Dictionary<string, object?>
            {
                ["errors"] = new[] { new Dictionary<string, object?> { ["message"] = refusal, ["extensions"] = new Dictionary<string, string> { ["code"] = "BAD_REQUEST" } } },
            });
    }

    /// <summary>The body of at most <paramref name="limit"/> bytes, left readable for the forward; null when it is longer (then it is still readable whole).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } length)
        {
            var exact = new byte[length];
            await request.Body.ReadExactlyAsync(exact, cancellationToken);
            request.Body = new MemoryStream(exact, writable: false);
            return exact;
        }
        request.EnableBuffering(bufferThreshold: limit + 1);
        var buffer = ArrayPool<byte>.Shared.Rent(limit + 1);
        try
        {
            var read = 0;
            int n;
            while (read <= limit && (n = await request.Body.ReadAsync(buffer.AsMemory(read, limit + 1 - read), cancellationToken)) > 0)
            {
                read += n;
            }
            request.Body.Position = 0;
            return read > limit ? null : buffer.AsSpan(0, read).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private Parsed ReadText(byte[] body) => Read(Encoding.UTF8.GetString(body), StringValues.Empty, StringValues.Empty, StringValues.Empty, isGet: false);

    private Parsed ReadJson(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Parsed.Pass(root.ValueKind == JsonValueKind.Array ? "a batch of operations" : "a body that is not a JSON object");
            }
            string? query = null, operationName = null;
            JsonElement? variables = null, extensions = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "query" when property.Value.ValueKind == JsonValueKind.String:
                        query = property.Value.GetString();
                        break;
                    case "operationName" when property.Value.ValueKind == JsonValueKind.String:
                        operationName = property.Value.GetString();
                        break;
                    case "variables" when property.Value.ValueKind == JsonValueKind.Object:
                        variables = property.Value;
                        break;
                    case "extensions" when property.Value.ValueKind == JsonValueKind.Object:
                        extensions = property.Value;
                        break;
                }
            }
            return Read(query, operationName, variables, extensions, isGet: false);
        }
        catch (JsonException ex)
        {
            return Parsed.Pass($"a body that is not JSON ({ex.Message})");
        }
    }

    private Parsed Read(StringValues query, StringValues operationName, StringValues variables, StringValues extensions, bool isGet)
    {
        try
        {
            using var variablesDocument = StringValues.IsNullOrEmpty(variables) ? null : JsonDocument.Parse(variables.ToString());
            using var extensionsDocument = StringValues.IsNullOrEmpty(extensions) ? null : JsonDocument.Parse(extensions.ToString());
            if (variablesDocument is { RootElement.ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) }
                || extensionsDocument is { RootElement.ValueKind: not JsonValueKind.Object })
            {
                return Parsed.Pass("variables or extensions that are not JSON objects");
            }
            return Read(StringValues.IsNullOrEmpty(query) ? null : query.ToString(), StringValues.IsNullOrEmpty(operationName) ? null : operationName.ToString(),
                variablesDocument?.RootElement, extensionsDocument?.RootElement, isGet);
        }
        catch (JsonException)
        {
            return Parsed.Pass("variables or extensions that are not JSON");
        }
    }

    private Parsed Read(string? query, string? operationName, JsonElement? variables, JsonElement? extensions, bool isGet)
    {
        string? persistedHash = null;
        if (extensions is { } ext && ext.TryGetProperty("persistedQuery", out var persisted) && persisted.ValueKind == JsonValueKind.Object)
        {
            if (!persisted.TryGetProperty("sha256Hash", out var hash) || hash.ValueKind != JsonValueKind.String || hash.GetString() is not { Length: 64 } hex
                || !hex.All(char.IsAsciiHexDigit))
            {
                return Parsed.Refuse("persistedQuery.sha256Hash must be the 64 hexadecimal digits of a SHA-256 hash");
            }
            persistedHash = hex.ToLowerInvariant();
        }
        var variablesJson = Canonical(variables);
        if (query is null)
        {
            if (persistedHash is null)
            {
                return Parsed.Pass("no query");
            }
            if (_persisted.TryGet(persistedHash, out var known))
            {
                return known with { KeyValue = KeyValue(known.Operation!, variablesJson) };
            }
            // The text is unknown here: over GET it is a query (GraphQL over HTTP allows no mutation there), keyed on the hash.
            return isGet
                ? new Parsed(new NormalizedOperation("persisted " + persistedHash, OperationType.Query, operationName), null, null, Remember: false)
                    { KeyValue = KeyValue(new NormalizedOperation("persisted " + persistedHash, OperationType.Query, operationName), variablesJson) }
                : Parsed.Pass("a persisted query not seen with its text yet") with { Remember = false }; // known once its text comes
        }
        if (persistedHash is not null && Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(query))) != persistedHash)
        {
            return Parsed.Refuse("provided sha does not match query"); // Apollo's words for it, which its clients know
        }
        if (GraphQLDocuments.Normalize(query, operationName, out var error) is not { } operation)
        {
            return Parsed.Pass(error!);
        }
        var parsed = new Parsed(operation, null, null, Remember: true) { KeyValue = KeyValue(operation, variablesJson) };
        if (persistedHash is not null)
        {
            _persisted.AddOrUpdate(persistedHash, parsed);
        }
        return parsed;
    }

    private static string KeyValue(NormalizedOperation operation, string variables) =>
        Hash(string.Concat(operation.Canonical, "\n", operation.Name ?? string.Empty, "\n", variables));

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)), 0, 16);

    /// <summary>Variables as canonical JSON: object members sorted by name at every depth, no whitespace; null when there are none.</summary>
    internal static string Canonical(JsonElement? variables)
    {
        if (variables is not { ValueKind: JsonValueKind.Object } root)
        {
            return "{}";
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, CanonicalJson))
        {
            Write(writer, root);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void Write(Utf8JsonWriter writer, JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        writer.WritePropertyName(property.Name);
                        Write(writer, property.Value);
                    }
                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(writer, item);
                    }
                    writer.WriteEndArray();
                    break;
                default:
                    element.WriteTo(writer);
                    break;
            }
        }
    }

    /// <summary>The URL query without the GraphQL parameters, the others in their order and spelling; empty or <c>?…</c>.</summary>
    private static string WithoutGraphQLParameters(HttpRequest request) =>
        CacheKeyContext.WithoutParameters(request.QueryString.Value ?? string.Empty, name => name is "query" or "operationName" or "variables" or "extensions");

    private static string? MediaType(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }
        var semicolon = contentType.IndexOf(';');
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    /// <summary>What a request was read as: an operation, a reason to pass it or to refuse it.</summary>
    private sealed record Parsed(NormalizedOperation? Operation, string? PassReason, string? Refusal, bool Remember)
    {
        public string? KeyValue { get; init; }

        public static Parsed Pass(string reason) => new(null, reason, null, Remember: true);

        public static Parsed Refuse(string reason) => new(null, null, reason, Remember: true);
    }

    private sealed class BodyComparer : IEqualityComparer<byte[]>
    {
        public static readonly BodyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] body) => (int)XxHash3.HashToUInt64(body);
    }
}
