using System.Text.Json;
using CacheProxy.Configuration;

namespace CacheProxy.GraphQL;

/// <summary>What a GraphQL response's body says about caching it.</summary>
/// <param name="Readable">The body is a JSON object.</param>
/// <param name="HasErrors">It has a non-empty <c>errors</c> array.</param>
/// <param name="MaxAge">The smallest <c>maxAge</c> of its <c>extensions.cacheControl.hints</c>, or null without hints.</param>
/// <param name="Private">A hint has <c>scope: PRIVATE</c>.</param>
/// <param name="Entities">The <c>Type:id</c> tags of the entities in <c>data</c>, at most the route's bound.</param>
/// <param name="EntityCount">How many distinct entities <c>data</c> holds (more than <paramref name="Entities"/> when some were dropped).</param>
internal sealed record GraphQLInspection(bool Readable, bool HasErrors, TimeSpan? MaxAge, bool Private, List<string> Entities, int EntityCount)
{
    public static readonly GraphQLInspection Unreadable = new(false, false, null, false, [], 0);
}

/// <summary>
/// Reads a GraphQL response body (docs/graphql.md): <c>errors</c>, Apollo's cache-control hints
/// (<c>extensions.cacheControl</c>, version 1: <c>{"hints":[{"path":[…],"maxAge":60,"scope":"PRIVATE"}]}</c>) and
/// the entities of <c>data</c> — every object with <c>__typename</c> and its type's key fields (<c>id</c> unless
/// <see cref="RouteGraphQLOptions.KeyFields"/> says otherwise).
/// </summary>
internal static class GraphQLResponses
{
    private const int MaxDepth = 64;
    private static readonly string[] DefaultKeyFields = ["id"];

    public static GraphQLInspection Inspect(ReadOnlySpan<byte> body, RouteGraphQLOptions route, bool entities)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth + 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return GraphQLInspection.Unreadable;
            }
            var hasErrors = root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0;
            TimeSpan? maxAge = null;
            var isPrivate = false;
            if (root.TryGetProperty("extensions", out var extensions) && extensions.ValueKind == JsonValueKind.Object
                && extensions.TryGetProperty("cacheControl", out var cacheControl) && cacheControl.ValueKind == JsonValueKind.Object
                && cacheControl.TryGetProperty("hints", out var hints) && hints.ValueKind == JsonValueKind.Array)
            {
                foreach (var hint in hints.EnumerateArray())
                {
                    if (hint.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }
                    if (hint.TryGetProperty("maxAge", out var age) && age.ValueKind == JsonValueKind.Number && age.TryGetDouble(out var seconds))
                    {
                        var hinted = TimeSpan.FromSeconds(Math.Clamp(seconds, 0, int.MaxValue));
                        maxAge = maxAge is { } least && least <= hinted ? least : hinted; // the most restrictive hint wins
                    }
                    isPrivate |= hint.TryGetProperty("scope", out var scope) && scope.ValueKind == JsonValueKind.String
                        && string.Equals(scope.GetString(), "PRIVATE", StringComparison.OrdinalIgnoreCase);
                }
            }
            var found = new List<string>();
            var count = 0;
            if (entities && root.TryGetProperty("data", out var data))
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                Collect(data, route, seen, found, route.MaxEntityTags, 0);
                count = seen.Count;
            }
            return new GraphQLInspection(true, hasErrors, maxAge, isPrivate, found, count);
        }
        catch (JsonException)
        {
            return GraphQLInspection.Unreadable;
        }
    }

    private static void Collect(JsonElement element, RouteGraphQLOptions route, HashSet<string> seen, List<string> found, int limit, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (Tag(element, route) is { } tag && seen.Add(tag) && found.Count < limit)
                {
                    found.Add(tag);
                }
                foreach (var property in element.EnumerateObject())
                {
                    Collect(property.Value, route, seen, found, limit, depth + 1);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, route, seen, found, limit, depth + 1);
                }
                break;
        }
    }

    /// <summary>The entity's tag, <c>Type:key</c>, or null when it is not an entity (no <c>__typename</c>, or a key field missing).</summary>
    private static string? Tag(JsonElement entity, RouteGraphQLOptions route)
    {
        if (!entity.TryGetProperty("__typename", out var typeName) || typeName.ValueKind != JsonValueKind.String || typeName.GetString() is not { Length: > 0 } type)
        {
            return null;
        }
        var fields = route.KeyFields.TryGetValue(type, out var configured) && configured.Length > 0 ? configured : DefaultKeyFields;
        var tag = type;
        foreach (var field in fields)
        {
            if (!entity.TryGetProperty(field, out var value))
            {
                return null;
            }
            var text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            };
            if (string.IsNullOrEmpty(text) || text.Any(char.IsControl))
            {
                return null;
            }
            tag = string.Concat(tag, ":", text);
        }
        return tag;
    }
}
