using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CacheProxy.Management;

/// <summary>
/// Reads the JSON body of a management call strictly — application/json, within a size limit Kestrel enforces while
/// reading, no unknown field, no type coercion — and says which field is wrong and why, in the request's terms.
/// </summary>
internal static class ManagementJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The body as <typeparamref name="T"/>; or, when it is not one, the field at fault and the reason.</summary>
    /// <param name="context">The call.</param>
    /// <param name="limit">The largest body accepted, in bytes.</param>
    /// <param name="describe">How the request type is named in reasons, e.g. "a purge request (urls, tags, prefixes, soft)".</param>
    public static async Task<(T? Value, string Field, string Reason)> ReadAsync<T>(HttpContext context, long limit, string describe)
        where T : class
    {
        if (context.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "body", "Content-Type must be application/json");
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        if (context.Request.ContentLength > limit)
        {
            return (null, "body", $"larger than {limit} bytes");
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Options, context.RequestAborted);
            return value is null ? (null, "body", "a JSON object is required") : (value, string.Empty, string.Empty);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, field, Reason(ex, typeof(T).Name, describe));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, "body", $"larger than {limit} bytes");
        }
    }

    /// <summary>What the JSON reader said, with .NET type names replaced by the request's terms.</summary>
    private static string Reason(JsonException ex, string typeName, string describe)
    {
        var reason = ex.Message.Split(" Path:")[0];
        reason = System.Text.RegularExpressions.Regex.Replace(reason, @"'[\w.+]*" + typeName + "'", describe);
        return reason.Replace("System.String[]", "an array of strings", StringComparison.Ordinal)
            .Replace("System.String", "a string", StringComparison.Ordinal)
            .Replace("System.Boolean", "true or false", StringComparison.Ordinal)
            .Replace("System.Int32", "a whole number", StringComparison.Ordinal);
    }
}
