using System.Xml;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>
/// <c>/warm</c> on the management endpoint (an API key, like purge): <c>POST</c> a JSON list
/// <c>{"urls": ["https://www.example.com/", ...]}</c> or a sitemap (<c>application/xml</c>, its <c>&lt;loc&gt;</c>
/// elements) to start warming (202 with the status; 409 while a job runs; 400 naming what is wrong); <c>GET</c> for
/// the status (<c>state</c>: idle, running, completed, cancelled; counts; <c>secondsLeft</c>); <c>DELETE</c> to cancel.
/// </summary>
internal sealed class WarmEndpoint(CacheWarmer warmer, LastGoodOptions options, ErrorShaping errors)
{
    private const long MaxBody = 64L << 20;

    public Task GetAsync(HttpContext context) => WriteStatusAsync(context, StatusCodes.Status200OK);

    public Task DeleteAsync(HttpContext context)
    {
        warmer.Cancel();
        return WriteStatusAsync(context, StatusCodes.Status200OK);
    }

    public async Task PostAsync(HttpContext context)
    {
        var max = options.Current.Warm.MaxUrls;
        var (urls, field, reason) = IsXml(context.Request.ContentType) ? await ReadSitemapAsync(context, max) : await ReadJsonAsync(context, max);
        if (urls is null)
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null), $"{field}: {reason}",
                new Dictionary<string, object?> { ["field"] = field });
            return;
        }
        if (warmer.TryStart(urls, context.User.Identity?.Name ?? "unknown") is { } refused)
        {
            await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.Conflict, ErrorCategory.Client, null), refused);
            return;
        }
        await WriteStatusAsync(context, StatusCodes.Status202Accepted);
    }

    private static bool IsXml(string? contentType) => contentType is not null
        && (contentType.StartsWith("application/xml", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("text/xml", StringComparison.OrdinalIgnoreCase));

    private static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadJsonAsync(HttpContext context, int max)
    {
        var (request, field, reason) = await ManagementJson.ReadAsync<WarmRequest>(context, MaxBody, "a warming request (urls)");
        if (request is null)
        {
            return (null, field, reason);
        }
        return Check(request.Urls ?? [], max);
    }

    private static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadSitemapAsync(HttpContext context, int max)
    {
        if (context.Request.ContentLength > MaxBody)
        {
            return (null, "body", $"larger than {MaxBody} bytes");
        }
        var locations = new List<string?>();
        try
        {
            // No DTD, no external entities: a sitemap is plain XML.
            using var reader = XmlReader.Create(context.Request.Body, new XmlReaderSettings { Async = true, DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            while (await reader.ReadAsync())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "loc")
                {
                    locations.Add((await reader.ReadElementContentAsStringAsync()).Trim());
                    if (locations.Count > max)
                    {
                        break;
                    }
                }
            }
        }
        catch (XmlException ex)
        {
            return (null, "body", $"not a sitemap: {ex.Message}");
        }
        return Check(locations, max);
    }

    private static (IReadOnlyList<Uri>? Urls, string Field, string Reason) Check(IReadOnlyList<string?> urls, int max)
    {
        if (urls.Count == 0)
        {
            return (null, "urls", "at least one URL");
        }
        if (urls.Count > max)
        {
            return (null, "urls", $"at most {max} URLs (CacheProxy:Warm:MaxUrls)");
        }
        var parsed = new List<Uri>(urls.Count);
        for (var i = 0; i < urls.Count; i++)
        {
            if (urls[i] is not { Length: <= 8192 } text || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return (null, $"urls[{i}]", "an absolute http:// or https:// URL of at most 8192 characters");
            }
            parsed.Add(uri);
        }
        return (parsed, string.Empty, string.Empty);
    }

    private Task WriteStatusAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(warmer.Status, ManagementJson.Options, context.RequestAborted);
    }

    private sealed class WarmRequest
    {
        public string?[]? Urls { get; init; }
    }
}
