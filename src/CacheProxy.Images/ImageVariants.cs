using System.Diagnostics.Metrics;
using System.Globalization;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using CacheProxy.Storage;
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
internal sealed class ImageVariants(LastGoodOptions options, ImageTransformer transformer, ErrorShaping errors, CacheKey keys, ICacheStore store,
    CacheWriter writer, BackgroundWork background, CacheProxyMetrics metrics, ILoggerFactory loggers)
    : IRequestVariants, IHeldResponses
{
    private const string UpstreamAccept = "image/jpeg, image/png, image/gif, image/*;q=0.8, */*;q=0.5";
    private static readonly string[] Parameters = ["w", "h", "fit", "q", "format", "s"];
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);
    private readonly Counter<long> _eager = metrics.Meter.CreateCounter<long>("cacheproxy.images.eager", "{variant}",
        "Variants of Images:Widths made when their source was stored (Images:Eager), by outcome: stored, present (stored already), skipped (no free slot, or the source cannot be made into one).");

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
        var position = context.KeyedHeaders?.Count ?? 0;
        if (!asked.AsIs)
        {
            (context.KeyedHeaders ??= []).Add(new("image", asked.KeyValue));
        }
        context.Variant = asked with { KeyPosition = position };
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
        if (!signed && (height is not null || quality is not null || fit is not null))
        {
            refusal = "h, q and fit need a signature";
            return null;
        }
        if (!signed && width is { } w && !images.Widths.Contains(w))
        {
            refusal = $"w={w} is not one of Images:Widths";
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
            return null; // the original class: the body stored is the source (what Stored makes eager variants of)
        }
        var source = capture.Copy.Kept.ToArray();
        if (route.Images.Eager && asked.Plain)
        {
            context.Variant = asked with { Source = (source, response.ContentType!) };
        }
        var made = await transformer.MakeAsync(source, response.ContentType!, asked, route.Images, context.RouteId,
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

    /// <summary>
    /// <c>Images:Eager</c>: once a plain request's variant (or the original) was stored, the other widths of
    /// <c>Images:Widths</c> in its class, made from the same source in the background and stored under the keys their
    /// requests will have, with the stored response's freshness and tags (a purge of the URL or a tag drops them too).
    /// A refreshed source makes them again.
    /// </summary>
    public void Stored(CacheContext context, CacheEntry entry, IReadOnlyList<string>? varyNames)
    {
        if (context.Variant is not ImageRequest { Plain: true } asked || !options.Current.Routes.TryGetValue(context.RouteId, out var route)
            || !route.Images.Eager)
        {
            return;
        }
        var source = asked.Source;
        if (source is null && asked.AsIs && entry.StreamedBody is null)
        {
            source = (entry.Body.ToArray(), entry.GetHeader(HeaderNames.ContentType).ToString());
        }
        context.Variant = asked with { Source = null };
        if (source is not { } original)
        {
            return;
        }
        // The keys now, while the request is here: its other keyed values stay, the image value is each width's.
        var http = context.HttpContext;
        var keyed = context.KeyedHeaders is { } k ? new List<KeyValuePair<string, string>>(k) : [];
        if (!asked.AsIs)
        {
            keyed.RemoveAt(asked.KeyPosition);
        }
        var siblings = new List<(string Key, ImageRequest Asked)>();
        foreach (var width in route.Images.Widths.Distinct())
        {
            if (width == asked.Width)
            {
                continue;
            }
            var sibling = new ImageRequest(asked.Class, width, null, false, null);
            keyed.Insert(asked.KeyPosition, new("image", sibling.KeyValue));
            if (keys.Build(http, keyed, context.KeyQuery) is { } key)
            {
                siblings.Add((key, sibling));
            }
            keyed.RemoveAt(asked.KeyPosition);
        }
        if (siblings.Count == 0)
        {
            return;
        }
        var request = varyNames is null ? null : CopyRequest(http.Request); // what the Vary rule reads, once the request is gone
        var routeId = context.RouteId;
        background.TryStart("image variants", token => MakeEagerAsync(siblings, original, entry, varyNames, request, route.Images, routeId, token));
    }

    private async Task MakeEagerAsync(List<(string Key, ImageRequest Asked)> siblings, (byte[] Body, string ContentType) source, CacheEntry stored,
        IReadOnlyList<string>? varyNames, HttpRequest? request, RouteImageOptions images, string routeId, CancellationToken token)
    {
        for (var i = 0; i < siblings.Count; i++)
        {
            var (key, asked) = siblings[i];
            string? stop = null;
            try
            {
                // Made already of this source or a newer one; one made of an older source (this is a refresh) is made again.
                if (varyNames is null && await store.GetAsync(key, token) is { } existing && existing.ResponseTime >= stored.ResponseTime)
                {
                    Count("present");
                    continue;
                }
                var made = await transformer.MakeAsync(source.Body, source.ContentType, asked, images, routeId, token, waitForSlot: false);
                if (made.Outcome is TransformOutcome.Made or TransformOutcome.OriginalSmaller or TransformOutcome.Animated)
                {
                    var variant = made.Outcome == TransformOutcome.Made ? Variant(stored, made.Body!, made.ContentType!) : Variant(stored, source.Body, source.ContentType);
                    Count(await writer.StoreAsync(key, request ?? new DefaultHttpContext().Request, variant, varyNames) ? "stored" : "skipped");
                    continue;
                }
                stop = made.Reason;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                stop = ex.Message;
            }
            catch (OperationCanceledException)
            {
                stop = "the gateway is stopping";
            }
            _eager.Add(siblings.Count - i, new KeyValuePair<string, object?>("outcome", "skipped"));
            Log.ImageEagerVariantsStopped(_logger, routeId, siblings.Count - i, stop ?? "unknown");
            return;
        }

        void Count(string outcome) => _eager.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>The stored response with another body: its type and length, and no ETag (it named the stored response's representation).</summary>
    private static CacheEntry Variant(CacheEntry stored, byte[] body, string contentType) => new()
    {
        StatusCode = stored.StatusCode,
        Headers = [.. stored.Headers.Where(h => !h.Key.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
                && !h.Key.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) && !h.Key.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase)),
            new(HeaderNames.ContentType, contentType), new(HeaderNames.ContentLength, body.Length.ToString(CultureInfo.InvariantCulture))],
        Body = body,
        RequestTime = stored.RequestTime,
        ResponseTime = stored.ResponseTime,
        FreshnessOverride = stored.FreshnessOverride,
        Tags = stored.Tags,
    };

    private static HttpRequest CopyRequest(HttpRequest request)
    {
        var copy = new DefaultHttpContext().Request;
        foreach (var header in request.Headers)
        {
            copy.Headers[header.Key] = header.Value;
        }
        return copy;
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
