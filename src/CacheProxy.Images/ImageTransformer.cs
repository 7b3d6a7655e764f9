using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetVips;

namespace CacheProxy.Images;

internal enum TransformOutcome
{
    Made,
    OriginalSmaller,
    Animated,
    TooManyPixels,
    Malformed,
    Busy,
    TimedOut,
}

/// <summary>What <see cref="ImageTransformer.MakeAsync"/> made: a variant, or why the original answers.</summary>
internal readonly record struct Transformed(TransformOutcome Outcome, byte[]? Body = null, string? ContentType = null, string? Reason = null);

/// <summary>
/// Makes image variants with libvips (NetVips; docs/images.md says why): the source's size read from its header
/// first and refused over <c>Images:MaxPixels</c> before a pixel is decoded; then one <c>thumbnail</c> — shrink-on-load,
/// the EXIF orientation applied, the colour profile converted to sRGB, never enlarged — saved as AVIF, WebP or the
/// source's format, metadata stripped unless kept. At most <c>CacheProxy:Images:MaxConcurrent</c> at once,
/// <c>MaxQueue</c> waiting, each within <c>Timeout</c>; a variant larger than its source is not kept.
/// </summary>
internal sealed class ImageTransformer : IDisposable
{
    private readonly IOptionsMonitor<ImageTransformOptions> _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly Counter<long> _transforms;
    private readonly Counter<long> _saved;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _duration;
    private int _waiting;

    // libvips is set up on the first variant, not before: `cacheproxy config check` builds these services without its binaries.
    private static readonly Lazy<bool> LibVips = new(() =>
    {
        // Variants are cached by the gateway: libvips' own operation cache would only hold memory.
        Cache.Max = 0;
        Cache.MaxMem = 0;
        Cache.MaxFiles = 0;
        return true;
    });

    public ImageTransformer(IOptionsMonitor<ImageTransformOptions> options, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger(LogCategories.Cache);
        _slots = new SemaphoreSlim(options.CurrentValue.MaxConcurrent, options.CurrentValue.MaxConcurrent);
        _transforms = metrics.Meter.CreateCounter<long>("cacheproxy.images.transforms", "{image}",
            "Image variants asked for on a miss, by format and outcome: made, original_smaller, animated (the original kept), too_many_pixels, malformed, busy, timed_out (the original served, not stored).");
        _saved = metrics.Meter.CreateCounter<long>("cacheproxy.images.saved", "By", "Bytes variants saved against their sources, by format.");
        _refused = metrics.Meter.CreateCounter<long>("cacheproxy.images.parameters_refused", "{request}", "Image requests whose parameters were not allowed (event 1034), by route.");
        _duration = metrics.Meter.CreateHistogram<double>("cacheproxy.images.transform.duration", "s", "Time to make one image variant, queue excluded, by format.");
    }

    /// <summary>Takes a slot until the result is disposed, as a variant being made does: for tests that need every slot taken, without timing.</summary>
    internal async Task<IDisposable> OccupyAsync()
    {
        Interlocked.Increment(ref _waiting);
        await _slots.WaitAsync();
        return new Occupied(this);
    }

    private sealed class Occupied(ImageTransformer transformer) : IDisposable
    {
        public void Dispose()
        {
            transformer._slots.Release();
            Interlocked.Decrement(ref transformer._waiting);
        }
    }

    public static bool IsImage(string? contentType) =>
        contentType is not null && (contentType.StartsWith("image/jpeg", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("image/png", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("image/webp", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("image/gif", StringComparison.OrdinalIgnoreCase) || contentType.StartsWith("image/avif", StringComparison.OrdinalIgnoreCase));

    public void Refused(string routeId, string reason)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("route", routeId));
        Log.ImageParametersRefused(_logger, routeId, reason);
    }

    /// <summary>Makes <paramref name="asked"/> of <paramref name="source"/>; with <paramref name="waitForSlot"/> false, only if a slot is free now (eager variants yield to requests).</summary>
    public async Task<Transformed> MakeAsync(byte[] source, string contentType, ImageRequest asked, RouteImageOptions route, string routeId,
        CancellationToken aborted, bool waitForSlot = true)
    {
        var options = _options.CurrentValue;
        var format = asked.Class == ImageClass.Original ? Format(contentType) : asked.Class.ToString().ToLowerInvariant();
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(options.Timeout);
        if (Interlocked.Increment(ref _waiting) > options.MaxQueue + options.MaxConcurrent)
        {
            Left(deadline);
            return Count(new Transformed(TransformOutcome.Busy, Reason: $"{options.MaxConcurrent} variants being made and {options.MaxQueue} waiting (CacheProxy:Images)"), format);
        }
        try
        {
            if (!await _slots.WaitAsync(waitForSlot ? Timeout.InfiniteTimeSpan : TimeSpan.Zero, deadline.Token))
            {
                Left(deadline);
                return Count(new Transformed(TransformOutcome.Busy, Reason: $"all {options.MaxConcurrent} slots are making variants for requests (CacheProxy:Images:MaxConcurrent)"), format);
            }
        }
        catch (OperationCanceledException)
        {
            Left(deadline);
            return Count(new Transformed(TransformOutcome.TimedOut, Reason: $"no slot within CacheProxy:Images:Timeout ({options.Timeout})"), format);
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // libvips computes synchronously, off the request's thread. At the deadline the request stops waiting; libvips
        // is told to stop (SetProgress), which it does at its next pixel checkpoint (an encoder's own pass may run on),
        // and the slot stays taken until it has: the bound on concurrent work holds.
        var work = Task.Run(() => Make(source, contentType, asked, route, deadline.Token), CancellationToken.None);
        _ = work.ContinueWith(static (_, state) =>
        {
            var (self, deadline) = ((ImageTransformer, CancellationTokenSource))state!;
            self._slots.Release();
            self.Left(deadline);
        }, (this, deadline), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Transformed made;
        try
        {
            made = await work.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            made = new Transformed(TransformOutcome.TimedOut, Reason: $"over CacheProxy:Images:Timeout ({options.Timeout})");
        }
        _duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("format", format));
        if (made.Outcome == TransformOutcome.Made)
        {
            _saved.Add(source.Length - made.Body!.Length, new KeyValuePair<string, object?>("format", format));
        }
        return Count(made, format);
    }

    /// <summary>A request's transform is over (given up or done): it no longer counts against the queue.</summary>
    private void Left(CancellationTokenSource deadline)
    {
        Interlocked.Decrement(ref _waiting);
        deadline.Dispose();
    }

    private Transformed Count(Transformed made, string format)
    {
        _transforms.Add(1, new KeyValuePair<string, object?>("format", format), new KeyValuePair<string, object?>("outcome", Name(made.Outcome)));
        return made;
    }

    private static string Name(TransformOutcome outcome) => outcome switch
    {
        TransformOutcome.Made => "made",
        TransformOutcome.OriginalSmaller => "original_smaller",
        TransformOutcome.Animated => "animated",
        TransformOutcome.TooManyPixels => "too_many_pixels",
        TransformOutcome.Malformed => "malformed",
        TransformOutcome.Busy => "busy",
        _ => "timed_out",
    };

    internal static Transformed Make(byte[] source, string contentType, ImageRequest asked, RouteImageOptions route, CancellationToken cancellation)
    {
        _ = LibVips.Value;
        try
        {
            // The header only (sequential access decodes nothing yet): a decompression bomb is refused by its stated size.
            using (var header = Image.NewFromBuffer(source, access: Enums.Access.Sequential))
            {
                if ((long)header.Width * header.Height > route.MaxPixels)
                {
                    return new Transformed(TransformOutcome.TooManyPixels,
                        Reason: $"{header.Width} x {header.Height} pixels, over Images:MaxPixels ({route.MaxPixels})");
                }
                if (header.Contains("n-pages") && header.Get("n-pages") is int pages && pages > 1)
                {
                    return new Transformed(TransformOutcome.Animated, Reason: $"{pages} frames: animated images pass as they are");
                }
            }
            var quality = asked.Quality ?? route.Quality;
            var keep = route.KeepMetadata ? Enums.ForeignKeep.All : Enums.ForeignKeep.Icc; // the sRGB profile stays, EXIF (GPS) and XMP go
            // One pass: shrink-on-load, autorotate by EXIF, sRGB out, never larger than the source.
            using var image = Image.ThumbnailBuffer(source, asked.Width ?? route.MaxWidth, height: asked.Height ?? route.MaxWidth, size: Enums.Size.Down,
                crop: asked.Cover && asked.Width is not null && asked.Height is not null ? Enums.Interesting.Centre : null,
                outputProfile: "srgb", optionString: "fail_on=truncated"); // a cut-off source fails to load (the loader's own option: thumbnail's fail_on does not reach it)
            image.SetProgress(new Progress<int>(), cancellation);
            var (body, type) = asked.Class switch
            {
                ImageClass.Avif => (image.HeifsaveBuffer(q: quality, compression: Enums.ForeignHeifCompression.Av1, effort: 2, keep: keep), "image/avif"),
                ImageClass.WebP => (image.WebpsaveBuffer(q: quality, effort: 3, keep: keep), "image/webp"),
                _ => SaveAsSource(image, contentType, quality, keep),
            };
            cancellation.ThrowIfCancellationRequested();
            // A variant is never more bytes than its source: the source answers then.
            return body.Length >= source.Length
                ? new Transformed(TransformOutcome.OriginalSmaller, Reason: $"the variant ({body.Length} bytes) is not smaller than the original ({source.Length})")
                : new Transformed(TransformOutcome.Made, body, type);
        }
        catch (OperationCanceledException)
        {
            return new Transformed(TransformOutcome.TimedOut, Reason: "over CacheProxy:Images:Timeout");
        }
        catch (VipsException ex) when (cancellation.IsCancellationRequested)
        {
            return new Transformed(TransformOutcome.TimedOut, Reason: $"over CacheProxy:Images:Timeout ({FirstLine(ex.Message)})");
        }
        catch (VipsException ex)
        {
            return new Transformed(TransformOutcome.Malformed, Reason: $"libvips could not read or write it: {FirstLine(ex.Message)}");
        }
    }

    private static (byte[] Body, string Type) SaveAsSource(Image image, string contentType, int quality, Enums.ForeignKeep keep) => Format(contentType) switch
    {
        "png" => (image.PngsaveBuffer(keep: keep), "image/png"),
        "webp" => (image.WebpsaveBuffer(q: quality, keep: keep), "image/webp"),
        "avif" => (image.HeifsaveBuffer(q: quality, compression: Enums.ForeignHeifCompression.Av1, keep: keep), "image/avif"),
        "gif" => (image.GifsaveBuffer(keep: keep), "image/gif"),
        _ => (image.JpegsaveBuffer(q: quality, keep: keep, optimizeCoding: true), "image/jpeg"),
    };

    private static string Format(string contentType) =>
        contentType.StartsWith("image/png", StringComparison.OrdinalIgnoreCase) ? "png"
        : contentType.StartsWith("image/webp", StringComparison.OrdinalIgnoreCase) ? "webp"
        : contentType.StartsWith("image/avif", StringComparison.OrdinalIgnoreCase) ? "avif"
        : contentType.StartsWith("image/gif", StringComparison.OrdinalIgnoreCase) ? "gif" : "jpeg";

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n');
        return (end < 0 ? message : message[..end]).Trim();
    }

    public void Dispose() => _slots.Dispose();
}
