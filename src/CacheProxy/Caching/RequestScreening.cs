using CacheProxy.Http;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>
/// Step (1) of <see cref="CacheEngine"/> for what a client sends beyond the key: request fields that origins act on
/// but the key ignores (<see cref="CacheProxyOptions.UnkeyedRequestHeaders"/>) are keyed on or make the request
/// bypass the cache, here, or are removed on the way upstream (<see cref="UnkeyedFields.RemoveOnForward"/>); a GET or HEAD with
/// content is never answered from or stored under the bodyless key.
/// docs/security.md.
/// </summary>
internal sealed class RequestScreening(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers, ErrorShaping errors, UnkeyedFields unkeyed)
{
    private const string XContentLength = "X-Content-Length";

    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// Whether the request may take a fast path that skips <see cref="Apply"/> (a fresh hit before or after
    /// routing): it has no content and no field that any route keys on or bypasses for. Fields to remove need no
    /// look here: a fresh hit forwards nothing.
    /// </summary>
    public bool IsPlain(HttpContext http)
    {
        if (HasContent(http) || ConnectionSpecificField(http.Request) is not null)
        {
            return false;
        }
        var headers = http.Request.Headers;
        var current = options.Current;
        var names = unkeyed.NamesFor(current);
        foreach (var name in names.KeyedOrBypassed)
        {
            if (headers.ContainsKey(name))
            {
                return false;
            }
        }
        // A keyed or bypassed field may come spelled with underscores when they are kept (off by default: no cost then).
        return current.DropUnderscoreHeaders || names.KeyedOrBypassed.Length == 0 || FieldSets.WithUnderscore(headers) is null;
    }

    /// <summary>
    /// Applies each listed field's action to the request of <paramref name="context"/> and notes request content:
    /// for every request that takes the full path (<see cref="CacheEngine.HandleAsync"/>), the only one that forwards.
    /// </summary>
    public void Apply(CacheContext context)
    {
        var http = context.HttpContext;
        context.RequestHasContent = HasContent(http);
        var current = options.Current;
        var headers = http.Request.Headers;
        // RFC 9112 §6.1: a request with both Transfer-Encoding and Content-Length is framed by the chunked coding;
        // Kestrel keeps the Content-Length it ignored as X-Content-Length. Never forwarded (an origin that believed
        // it would frame the body differently), and the connection closes after the response.
        if (!StringValues.IsNullOrEmpty(headers.TransferEncoding) && headers.Remove(XContentLength))
        {
            http.Response.Headers.Connection = "close";
            metrics.UnkeyedHeader(XContentLength, UnkeyedHeaderAction.Remove);
            Log.UnkeyedHeader(_logger, XContentLength, UnkeyedHeaderAction.Remove, context.RouteId);
        }
        current.Routes.TryGetValue(context.RouteId, out var route);
        var names = unkeyed.NamesFor(current);
        // Fields only ever removed are left to UnkeyedFields.RemoveOnForward: a hit never looks for them.
        foreach (var name in names.KeyedOrBypassed)
        {
            if (headers.ContainsKey(name))
            {
                Act(context, headers, name, name, UnkeyedFields.ActionFor(name, route, current));
            }
        }
        if (!current.DropUnderscoreHeaders && FieldSets.WithUnderscore(headers) is { } spelled)
        {
            ScreenUnderscoreFields(context, headers, spelled, names, route, current); // dropped, they are left to UnkeyedFields.RemoveOnForward
        }
    }

    /// <summary>
    /// With underscores kept (<see cref="CacheProxyOptions.DropUnderscoreHeaders"/> off): a field that spells a listed
    /// name with underscores gets that name's action, as CGI and PHP read it.
    /// </summary>
    private void ScreenUnderscoreFields(CacheContext context, IHeaderDictionary headers, List<string> spelled, UnkeyedFields.Names names, RouteCacheOptions? route,
        CacheProxyOptions current)
    {
        foreach (var field in spelled)
        {
            if (names.ByCgiSpelling.TryGetValue(field.Replace('_', '-'), out var listed))
            {
                Act(context, headers, field, listed, UnkeyedFields.ActionFor(listed, route, current));
            }
        }
    }

    /// <summary>Applies <paramref name="action"/> to the request field <paramref name="field"/>, counted and logged under <paramref name="listed"/>.</summary>
    private void Act(CacheContext context, IHeaderDictionary headers, string field, string listed, UnkeyedHeaderAction action)
    {
        switch (action)
        {
            case UnkeyedHeaderAction.Remove:
                headers.Remove(field);
                break;
            case UnkeyedHeaderAction.Key:
                (context.KeyedHeaders ??= []).Add(new(listed.ToLowerInvariant(), headers[field].ToString()));
                break;
            case UnkeyedHeaderAction.Bypass:
                // A GET or HEAD passes the cache by (fwd=bypass); an unsafe method still invalidates what it changes.
                var method = context.HttpContext.Request.Method;
                context.EnableCaching &= !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method));
                break;
            default:
                return;
        }
        metrics.UnkeyedHeader(listed, action);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.UnkeyedHeader(_logger, field, action, context.RouteId);
        }
    }

    /// <summary>
    /// Refuses with 400, never forwarded, a request whose framing a smuggler may have shaped: an HTTP/1.1
    /// Transfer-Encoding that applies chunked more than once or names the retired identity coding (RFC 9112 §6.1 and
    /// §7; Kestrel itself refuses a final coding other than chunked), its connection then closed; an HTTP/2 or HTTP/3
    /// request with a connection-specific field (RFC 9113 §8.2.2, RFC 9114 §4.2). True when it was refused; the
    /// usual request costs no async frame.
    /// </summary>
    public ValueTask<bool> RefuseMalformedFramingAsync(CacheContext context)
    {
        var request = context.HttpContext.Request;
        if (ConnectionSpecificField(request) is { } field)
        {
            return new(RefuseAsync(context, $"an {request.Protocol} request must not carry the connection-specific field {field} (RFC 9113 §8.2.2)", []));
        }
        if (!StringValues.IsNullOrEmpty(request.Headers.TransferEncoding) && IsRepeatedOrIdentity(request.Headers.TransferEncoding))
        {
            return new(RefuseAsync(context, $"Transfer-Encoding '{request.Headers.TransferEncoding}' applies chunked more than once or names identity (RFC 9112)",
                [new("Connection", "close")]));
        }
        return new(false);
    }

    private async Task<bool> RefuseAsync(CacheContext context, string reason, KeyValuePair<string, string>[] headers)
    {
        Log.RequestFramingRefused(_logger, reason, context.RouteId);
        metrics.Error(ErrorCategory.Client);
        metrics.Request(context.MetricKey, CacheOutcome.Error);
        await errors.WriteProblemAsync(context.HttpContext, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null),
            char.ToUpperInvariant(reason[0]) + reason[1..] + ".", headers: headers);
        return true;
    }

    private static bool IsRepeatedOrIdentity(StringValues transferEncoding)
    {
        var chunked = 0;
        var identity = false;
        foreach (var value in transferEncoding)
        {
            foreach (var coding in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                chunked += coding.Equals("chunked", StringComparison.OrdinalIgnoreCase) ? 1 : 0;
                identity |= coding.Equals("identity", StringComparison.OrdinalIgnoreCase);
            }
        }
        return chunked > 1 || identity;
    }

    /// <summary>The first connection-specific field on an HTTP/2 or HTTP/3 request, or null (and for HTTP/1.x).</summary>
    private static string? ConnectionSpecificField(HttpRequest request)
    {
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            return null;
        }
        foreach (var name in FieldSets.ConnectionSpecific)
        {
            if (request.Headers.ContainsKey(name))
            {
                return name;
            }
        }
        return null;
    }

    /// <summary>
    /// Content on the request: Content-Length above 0 or chunked (HTTP/1.1), or a stream not ended with the headers
    /// (HTTP/2, HTTP/3, as Kestrel decides it). The cheap fields first: this runs on every fresh hit.
    /// </summary>
    private static bool HasContent(HttpContext http)
    {
        var request = http.Request;
        return request.ContentLength > 0 || !StringValues.IsNullOrEmpty(request.Headers.TransferEncoding)
            || ((HttpProtocol.IsHttp2(request.Protocol) || HttpProtocol.IsHttp3(request.Protocol))
                && http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);
    }
}
