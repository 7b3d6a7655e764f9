using System.Globalization;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Images;

/// <summary>
/// Image variants on a route with <c>Images:Enabled</c> (docs/images.md), in the engine's two seams:
/// <list type="bullet">
/// <item>the request (<see cref="IRequestVariants"/>): the class its Accept allows (AVIF, WebP, the original) and the
/// parameters it may ask for (<c>w</c> from the allow-list; anything signed) go into the key, never the raw Accept;
/// upstream the request asks for the original, without those parameters; every response gets <c>Vary: Accept</c>;</item>
/// <item>the response (<see cref="IHeldResponses"/>): an image is held, and made into the variant once
/// (<see cref="ImageTransformer"/>), then stored like any response — or, when it cannot be made, the original passes.</item>
/// </list>
/// </summary>
internal sealed class ImageVariants(LastGoodOptions options, ImageTransformer transformer, ErrorShaping errors, ILoggerFactory loggers)
    : IRequestVariants, IHeldResponses
{
    private const string UpstreamAccept = "image/jpeg, image/png, image/gif, image/*;q=0.8, */*;q=0.5";
    private static readonly string[] Parameters = ["w", "h", "fit", "q", "format", "s"];
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    public bool Applies(CacheProxyOptions current, string routeId) => current.Routes.TryGetValue(routeId, out var route) && route.Images.Enabled;

    public async ValueTask<bool> ScreenAsync(CacheContext context)
    {
        var http = context.HttpContext;
        var request = http.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || !options.Current.Routes.TryGetValue(context.RouteId, out var route))
        {
            return false;
        }
        var images = route.Images;
        http.Response.OnStarting(static state =>
        {
            ((HttpContext)state).Response.Headers.Append(HeaderNames.Vary, HeaderNames.Accept); // the class comes from Accept
            return Task.CompletedTask;
        }, http);
        if (Read(request, images, out var refusal) is not { } asked)
        {
            transformer.Refused(context.RouteId, refusal!);
            if (images.OnInvalid == ImageParameterFailure.BadRequest)
            {
                await errors.WriteProblemAsync(http, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null),
                    $"Image parameters refused: {refusal}.");
                return true;
            }
            asked = new ImageRequest(Negotiate(request.Headers.Accept, images, null), null, null, false, null);
        }
        // The key: the URL without the image parameters, and the class and parameters in one spelling.
        var query = WithoutImageParameters(request);
        context.KeyQuery = query;
        if (!asked.AsIs)
        {
            (context.KeyedHeaders ??= []).Add(new("image", asked.KeyValue));
        }
        context.Variant = asked;
        // Upstream: the original, whatever this client accepts.
        request.QueryString = new QueryString(query.Length == 0 ? null : query);
        request.Headers.Accept = UpstreamAccept;
        return false;
    }

    /// <summary>The parameters the request may ask for, or null and why not.</summary>
    private static ImageRequest? Read(HttpRequest request, RouteImageOptions images, out string? refusal)
    {
        refusal = null;
        var query = request.Query;
        string? Value(string name) => query.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;
        foreach (var name in Parameters)
        {
            if (query.TryGetValue(name, out var values) && values.Count > 1)
            {
                refusal = $"{name} given more than once";
                return null;
            }
        }
        int? width = null, height = null, quality = null;
        if (!TryInt(Value("w"), 1, images.MaxWidth, ref width, out var bad) || !TryInt(Value("h"), 1, images.MaxWidth, ref height, out bad)
            || !TryInt(Value("q"), 1, 100, ref quality, out bad))
        {
            refusal = bad;
            return null;
        }
        var fit = Value("fit");
        if (fit is not (null or "cover" or "contain"))
        {
            refusal = "fit must be cover or contain";
            return null;
        }
        var format = Value("format");
        if (format is not (null or "avif" or "webp" or "original" or "auto"))
        {
            refusal = "format must be avif, webp, original or auto";
            return null;
        }
        var signed = false;
        if (Value("s") is { } signature)
        {
            if (images.SigningKey is not { } key || !ImageSigning.Verify(key, request.Path.Value ?? string.Empty, width, height, fit, quality, format, signature))
            {
                refusal = "the signature does not match";
                return null;
            }
            signed = true;
        }
        if (!signed && (height is not null || quality is not null || fit is not null || (width is { } w && !images.Widths.Contains(w))))
        {
            refusal = width is { } asked && !images.Widths.Contains(asked) && height is null && quality is null && fit is null
                ? $"w={asked} is not one of Images:Widths" : "h, q and fit need a signature";
            return null;
        }
        return new ImageRequest(Negotiate(request.Headers.Accept, images, format), width, height, fit == "cover", quality);

        static bool TryInt(string? text, int min, int max, ref int? value, out string? bad)
        {
            bad = null;
            if (text is null)
            {
                return true;
            }
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
            {
                bad = $"a parameter must be a whole number from {min} to {max} (was '{(text.Length > 16 ? text[..16] + "…" : text)}')";
                return false;
            }
            value = parsed;
            return true;
        }
    }

    /// <summary>The class for the client: <c>format</c> when it names one, else AVIF, WebP or the original as Accept allows and the route offers.</summary>
    internal static ImageClass Negotiate(StringValues accept, RouteImageOptions images, string? format) => format switch
    {
        "avif" when images.Avif => ImageClass.Avif,
        "webp" when images.WebP => ImageClass.WebP,
        "original" => ImageClass.Original,
        _ when images.Avif && Accepts(accept, "image/avif") => ImageClass.Avif,
        _ when images.WebP && Accepts(accept, "image/webp") => ImageClass.WebP,
        _ => ImageClass.Original,
    };

    /// <summary>Whether Accept names the media type with a quality above 0 (a wildcard does not count: browsers send <c>*/*</c>).</summary>
    private static bool Accepts(StringValues accept, string mediaType)
    {
        if (!MediaTypeHeaderValue.TryParseList(accept, out var types))
        {
            return false;
        }
        foreach (var type in types)
        {
            if (type.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            {
                return type.Quality is not 0;
            }
        }
        return false;
    }

    /// <summary>The URL query without the image parameters, the others in their order and spelling.</summary>
    private static string WithoutImageParameters(HttpRequest request) =>
        CacheKeyContext.WithoutParameters(request.QueryString.Value ?? string.Empty, name => Array.IndexOf(Parameters, name) >= 0);

    public bool Holds(CacheContext context, HttpResponse response, CacheProxyOptions current) =>
        context.Variant is ImageRequest && response.StatusCode == StatusCodes.Status200OK
        && (response.ContentLength is null || response.ContentLength <= current.MaxObjectSize)
        && StringValues.IsNullOrEmpty(response.Headers.ContentEncoding) && ImageTransformer.IsImage(response.ContentType);

    public async ValueTask<string?> ApplyAsync(CacheContext context, CaptureBodyFeature capture, DateTimeOffset responseTime, CacheProxyOptions current)
    {
        var response = context.HttpContext.Response;
        RemoveAcceptFromVary(response.Headers); // the origin was asked with one Accept: its answer does not vary by the client's
        var asked = (ImageRequest)context.Variant!;
        if (asked.AsIs || !capture.Copy.Buffering || !current.Routes.TryGetValue(context.RouteId, out var route))
        {
            return null;
        }
        var made = await transformer.MakeAsync(capture.Copy.Kept.ToArray(), response.ContentType!, asked, route.Images, context.RouteId,
            context.HttpContext.RequestAborted);
        switch (made.Outcome)
        {
            case TransformOutcome.Made:
                capture.Copy.ReplaceWith(made.Body!);
                response.ContentType = made.ContentType;
                response.ContentLength = made.Body!.Length;
                response.Headers.Remove(HeaderNames.ETag); // another representation than the one the origin's tag names
                return null;
            case TransformOutcome.OriginalSmaller or TransformOutcome.Animated:
                return null; // the original is this variant's answer: stored as it came
            default:
                Log.ImageServedOriginal(_logger, context.RouteId, made.Reason!);
                return $"image variant not made: {made.Reason}"; // the original passes, not stored as the variant
        }
    }

    private static void RemoveAcceptFromVary(IHeaderDictionary headers)
    {
        var vary = headers.Vary;
        if (StringValues.IsNullOrEmpty(vary))
        {
            return;
        }
        var kept = vary.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Where(n => !n.Equals(HeaderNames.Accept, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (kept.Length == 0)
        {
            headers.Remove(HeaderNames.Vary);
        }
        else
        {
            headers.Vary = string.Join(", ", kept);
        }
    }
}
