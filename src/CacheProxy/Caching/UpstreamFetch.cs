using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Caching;

/// <summary>
/// One request upstream through the rest of the pipeline (YARP), with the response captured: before its first byte
/// reaches the client, <see cref="Decide"/> chooses between answering from the stored response (a 304 to our
/// validation, or stale content when the upstream failed) and passing the response on, kept for the store when
/// RFC 9111, the policies and the size limit allow. Afterwards the kept body is stored, or the 304 merged.
/// </summary>
internal sealed class UpstreamFetch(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers,
    CachePolicies policies, ResponseTags tags, CacheWriter writer, Revalidation revalidation, StoredResponses served, CaptureBudget budget,
    Compressor compressor, NotStoredRecord notStored)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Forwards the request of <paramref name="context"/> and completes it; the outcome is what followers of this fetch learn.</summary>
    public async Task<FetchOutcome> ForwardAsync(CacheContext context, RequestDelegate next, string reason, bool background = false)
    {
        var http = context.HttpContext;
        var exchange = new CacheExchange { ForwardReason = reason, Background = background };
        context.Exchange = exchange;
        if (context.StoredResponse is not null)
        {
            exchange.Validating = Revalidation.UseStoredValidators(context, exchange);
        }
        if (context.Lookup.KeyedOnAcceptEncoding)
        {
            // The origin chooses among what the key stands for, so what it answers can be stored under that key.
            http.Request.Headers.AcceptEncoding = AcceptEncoding.Class(http.Request.Headers.AcceptEncoding);
        }
        if (!background && context.StoredResponse is null && context.Lookup.Part is { } storedPart
            && PartialContent.TryPlanCompletion(storedPart, http.Request, out var missing))
        {
            // Only the rest is fetched, and only if the representation is still the stored part's (RFC 9110 §13.1.5).
            exchange.Completing = missing;
            http.Request.Headers.Range = $"bytes={missing.First}-{missing.Last}";
            http.Request.Headers.IfRange = storedPart.GetHeader(HeaderNames.ETag);
        }
        exchange.RequestTime = time.GetUtcNow();
        using var revalidating = exchange.Validating ? CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.revalidate") : null;
        var original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CaptureBodyFeature(original, c => Decide(context, c), budget);
        http.Features.Set<IHttpResponseBodyFeature>(capture);
        var started = time.GetTimestamp();
        try
        {
            await next(http);
            capture.Decide();
        }
        finally
        {
            http.Features.Set(original);
        }
        // A client that left (canceled, connection gone) is not an upstream failure: it stays a miss.
        var upstreamFailed = http.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None } forwarderError
            && ErrorShaping.Classify(forwarderError).Category != ErrorCategory.Client;
        RecordUpstream(http, context.RouteId, started, exchange.UpstreamStatus, metrics, time);
        if (capture.BytesWritten > 0)
        {
            metrics.Fetched(context.RouteId, capture.BytesWritten);
        }
        revalidating?.SetTag("cacheproxy.upstream_status", exchange.UpstreamStatus);
        if (exchange.Completing is not null && await CompleteAsync(context, exchange, capture) is { } completed)
        {
            return completed;
        }
        if (exchange.CompletionFailed)
        {
            // The origin sent another part than the rest asked for: ask again for what the client asked.
            capture.ReleaseBuffer();
            ForgetCompletion(http.Request);
            http.Response.StatusCode = StatusCodes.Status200OK;
            context.Looked(context.Lookup with { Part = null });
            return await ForwardAsync(context, next, reason, background);
        }
        var swallowed = capture.Mode == CaptureMode.Swallow;
        if (!background && !swallowed)
        {
            metrics.Request(context.MetricKey, upstreamFailed ? CacheOutcome.Error : CacheOutcome.Miss); // a stored response served counts itself
        }
        try
        {
            if (swallowed)
            {
                if (exchange.ServeStaleOnError)
                {
                    await ServeStaleAsync(context, exchange);
                }
                else
                {
                    exchange.Stored = await revalidation.CompleteAsync(context, exchange);
                }
            }
            else if (exchange.StoreHeaders is not null && capture.Buffering)
            {
                exchange.Stored = await StoreAsync(context, exchange, capture);
            }
            else if (exchange.StoreHeaders is not null && capture.SkipReason is { } skipped)
            {
                metrics.CaptureSkipped.Add(1, new KeyValuePair<string, object?>("reason", capture.OutOfMemory ? "out_of_memory" : "limit"));
                var hash = CacheKey.Hash(context.Key!);
                Log.CaptureSkipped(_logger, hash, skipped);
                notStored.Add(hash, skipped);
            }
            else if (exchange.StoreHeaders is not null && !upstreamFailed)
            {
                // Storable, but its body outgrew CacheProxy:MaxObjectSize: streamed to the client, not kept.
                metrics.TooLargeToStore.Add(1);
                NotStored(context, $"body larger than CacheProxy:MaxObjectSize ({capture.BytesWritten} bytes sent)");
            }
        }
        finally
        {
            capture.ReleaseBuffer();
            await capture.ReleaseHeldAsync(); // only now can the client see the end of a response it may ask for again
        }
        if (background)
        {
            var outcome = Outcome(exchange, swallowed, upstreamFailed);
            metrics.BackgroundRefreshes.Add(1, new KeyValuePair<string, object?>("outcome",
                outcome == CacheOutcome.Revalidated ? "not_modified" : upstreamFailed ? "failed" : exchange.Stored ? "updated" : "not_stored"));
        }
        return new FetchOutcome(exchange.Stored, exchange.UpstreamFailed, exchange.UpstreamUnreachable, exchange.UpstreamStatus);
    }

    /// <summary>Event 1003, and the reason kept for <c>GET /inspect</c>.</summary>
    private void NotStored(CacheContext context, string reason)
    {
        var hash = CacheKey.Hash(context.Key!);
        Log.ResponseNotStored(_logger, hash, reason);
        notStored.Add(hash, reason);
    }

    /// <summary>Records the upstream duration of a request, by route and status class.</summary>
    public static void RecordUpstream(HttpContext context, string routeId, long started, int status, CacheProxyMetrics metrics, TimeProvider time)
    {
        if (metrics.UpstreamDuration.Enabled)
        {
            var failed = context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None };
            metrics.UpstreamDuration.Record(time.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("route", routeId),
                new KeyValuePair<string, object?>("status_class", failed ? "error" : CacheProxyMetrics.StatusClass(status)));
        }
    }

    private static CacheOutcome Outcome(CacheExchange exchange, bool swallowed, bool upstreamFailed) => swallowed
        ? (exchange.ServeStaleOnError ? CacheOutcome.Stale : CacheOutcome.Revalidated)
        : upstreamFailed ? CacheOutcome.Error : CacheOutcome.Miss;

    /// <summary>Drops the upstream response's fields and reason phrase: a stored response is served in its place.</summary>
    private static void Discard(HttpContext http)
    {
        http.Response.Headers.Clear();
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>() is { } feature)
        {
            feature.ReasonPhrase = null;
        }
    }

    /// <summary>Called once, before the first header or byte of the upstream response goes to the client.</summary>
    private CaptureMode Decide(CacheContext context, CaptureBodyFeature capture)
    {
        var exchange = context.Exchange!;
        var http = context.HttpContext;
        var response = http.Response;
        var current = options.Current;
        exchange.ResponseTime = time.GetUtcNow();
        exchange.UpstreamStatus = response.StatusCode;
        exchange.UpstreamUnreachable = http.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None };
        exchange.UpstreamFailed = exchange.UpstreamUnreachable || response.StatusCode is 500 or 502 or 503 or 504;

        if (exchange.Validating && response.StatusCode == StatusCodes.Status304NotModified)
        {
            tags.TakeHeaders(context, response.Headers, storing: false); // the stored response keeps its tags
            exchange.NotModifiedHeaders = [.. HeaderFilter.ForStorage(response.Headers, null, current.Correlation.HeaderName)];
            Discard(http);
            return CaptureMode.Swallow;
        }
        if (context.StoredResponse is { } stale && !exchange.Background && exchange.UpstreamFailed
            && ReuseRules.StaleOnErrorAllows(context, Candidate.At(stale, current, exchange.ResponseTime, context.Lookup.PurgedSince), exchange.UpstreamUnreachable, current))
        {
            exchange.ServeStaleOnError = true;
            Discard(http); // nothing of the failing response goes with the stale one
            return CaptureMode.Swallow;
        }

        policies.OnResponse(context);
        var reason = StorageRules.Refusal(context, current, out var privateFields, out var varyNames);
        if (reason is null && response.ContentLength > current.MaxObjectSize)
        {
            // Known before the first byte: Cache-Status must not say "stored" for a body the cache will not keep.
            reason = $"Content-Length {response.ContentLength} larger than CacheProxy:MaxObjectSize";
            metrics.TooLargeToStore.Add(1);
        }
        reason ??= KeyOnAcceptEncoding(context, response, exchange, ref varyNames);
        tags.TakeHeaders(context, response.Headers, storing: reason is null);
        var stored = false;
        if (reason is null)
        {
            exchange.VaryNames = varyNames;
            exchange.Tags = tags.Complete(context);
            exchange.StoreHeaders = HeaderFilter.ForStorage(response.Headers, privateFields, current.Correlation.HeaderName);
            capture.StartBuffering(current.MaxObjectSize, response.ContentLength);
            // No memory to keep it even at the start: Cache-Status must not say "stored" (logged and counted after).
            stored = capture.Buffering;
        }
        else
        {
            NotStored(context, reason);
        }
        if (current.HonorSurrogateControl)
        {
            response.Headers.Remove(CacheProxyHeaderNames.SurrogateControl); // Edge Architecture: consumed here
        }
        if (exchange.Completing is { } missing && response.StatusCode == StatusCodes.Status206PartialContent)
        {
            // The client asked for the whole: this part goes to the store and, joined to the stored one, to the client.
            // Anything else than the rest of the same representation goes nowhere; the request is asked again.
            exchange.CompletionFailed = !stored || exchange.Part != missing
                || !PartialContent.StrongMatch(response.Headers.ETag, context.Lookup.Part!.GetHeader(HeaderNames.ETag));
            Discard(http);
            return exchange.CompletionFailed ? CaptureMode.Swallow : CaptureMode.Hold;
        }
        response.Headers.Append(CacheProxyHeaderNames.CacheStatus,
            CacheStatus.Value(current.CacheStatusName, CacheStatus.Forwarded(exchange.ForwardReason, response.StatusCode, stored)));
        return CaptureMode.PassThrough;
    }

    /// <summary>
    /// A completion's 206 was held: joins it to the stored part, stores the whole and answers the client from it. Null
    /// when this fetch passed its response on (not a completion after all) or must be asked again.
    /// </summary>
    private async Task<FetchOutcome?> CompleteAsync(CacheContext context, CacheExchange exchange, CaptureBodyFeature capture)
    {
        if (capture.Mode != CaptureMode.Hold)
        {
            return null;
        }
        try
        {
            exchange.Stored = await StoreAsync(context, exchange, capture);
        }
        finally
        {
            capture.ReleaseBuffer();
        }
        if (exchange.Combined is not { StatusCode: StatusCodes.Status200OK } whole)
        {
            exchange.CompletionFailed = true;
            return null;
        }
        var http = context.HttpContext;
        ForgetCompletion(http.Request);
        await served.ServeAsync(context, Served.Completed, served.Now(whole),
            new UpstreamAnswer(exchange.ForwardReason, StatusCodes.Status206PartialContent, Stored: exchange.Stored));
        return new FetchOutcome(exchange.Stored, false, false, exchange.UpstreamStatus);
    }

    /// <summary>Takes the completion's Range and If-Range off the request: the client sent neither.</summary>
    private static void ForgetCompletion(HttpRequest request)
    {
        request.Headers.Remove(HeaderNames.Range);
        request.Headers.Remove(HeaderNames.IfRange);
    }

    /// <summary>
    /// Keys the response on the Accept-Encoding class when its coding depends on it: one to store compressed too
    /// (<see cref="Compressor"/>), one the origin sent in br or gzip without saying it varies (a client that cannot
    /// read it must not get it from the cache), or one for a URL already keyed so. Adds <c>Vary: Accept-Encoding</c> then; returns why the response is not
    /// stored when its coding cannot serve every request of its key, else null.
    /// </summary>
    private string? KeyOnAcceptEncoding(CacheContext context, HttpResponse response, CacheExchange exchange, ref IReadOnlyList<string>? varyNames)
    {
        var coding = response.Headers.ContentEncoding;
        var encoded = coding.Count == 1 && coding.ToString().Trim() is var c
            && (c.Equals(AcceptEncoding.Brotli, StringComparison.OrdinalIgnoreCase) || c.Equals(AcceptEncoding.Gzip, StringComparison.OrdinalIgnoreCase));
        exchange.Compress = !encoded && compressor.Applies(context, response); // a 200 only: never a part
        // A URL already keyed on it stays so: this response was fetched for one class, as its siblings were.
        if ((encoded || exchange.Compress || context.Lookup.KeyedOnAcceptEncoding) && (varyNames is null || !varyNames.Contains(Variants.AcceptEncodingName)))
        {
            response.Headers.Append(HeaderNames.Vary, HeaderNames.AcceptEncoding);
            varyNames = [.. (varyNames ?? []).Append(Variants.AcceptEncodingName).Order(StringComparer.Ordinal)];
        }
        var accepted = context.HttpContext.Request.Headers.AcceptEncoding;
        if (varyNames is not null && varyNames.Contains(Variants.AcceptEncodingName) && !AcceptEncoding.FitsClass(coding, accepted))
        {
            // Keyed on the coding the request is served: a response in another coding would reach clients of that key
            // that cannot read it. Forwarded requests carry the class once the rule is known, so this is the first one.
            return $"content-coding '{coding}' is neither identity nor the Accept-Encoding class '{AcceptEncoding.Class(accepted)}'";
        }
        return null;
    }

    private ValueTask ServeStaleAsync(CacheContext context, CacheExchange exchange)
    {
        Log.ServedStaleOnError(_logger, exchange.UpstreamStatus, CacheKey.Hash(context.Key!));
        context.HttpContext.Response.StatusCode = StatusCodes.Status200OK;
        return served.ServeAsync(context, Served.StaleOnError, served.Now(context.StoredResponse!),
            new UpstreamAnswer(exchange.ForwardReason, exchange.UpstreamStatus, exchange.UpstreamUnreachable));
    }

    private async Task<bool> StoreAsync(CacheContext context, CacheExchange exchange, CaptureBodyFeature capture)
    {
        var http = context.HttpContext;
        var expected = http.Response.ContentLength;
        if (http.Features.Get<IForwarderErrorFeature>() is not null || http.RequestAborted.IsCancellationRequested
            || (expected is not null && expected != capture.BytesWritten) || (exchange.Part is { } part && part.Length != capture.BytesWritten))
        {
            var hash = CacheKey.Hash(context.Key!);
            Log.IncompleteBodyNotStored(_logger, hash, capture.BytesWritten, expected ?? exchange.Part?.Length);
            notStored.Add(hash, $"incomplete body: {capture.BytesWritten} bytes of {expected ?? exchange.Part?.Length}");
            return false;
        }
        var entry = new CacheEntry
        {
            StatusCode = exchange.UpstreamStatus,
            Headers = exchange.StoreHeaders!,
            Body = capture.TakeBody(),
            RequestTime = exchange.RequestTime,
            ResponseTime = exchange.ResponseTime,
            FreshnessOverride = context.FreshnessLifetime,
            Tags = exchange.Tags,
            FilledHere = true,
        };
        if (exchange.Part is { } newPart && context.Lookup.Part is { } storedPart)
        {
            // RFC 9111 §3.4: parts of one representation become one entry; the complete response once they cover it.
            exchange.Combined = PartialContent.Combine(storedPart, entry, newPart, options.Current.MaxObjectSize);
            entry = exchange.Combined ?? entry;
        }
        var compression = compressor.For(context.RouteId);
        if (!exchange.Compress || entry.Body.Length < compression.MinimumSize)
        {
            return await writer.StoreAsync(context.Key!, http.Request, entry, exchange.VaryNames);
        }
        // Once, here: each Accept-Encoding class gets its representation (identity where compressing gained nothing).
        var requestClass = AcceptEncoding.Class(http.Request.Headers.AcceptEncoding);
        var stored = false;
        foreach (var coding in Compressor.Classes)
        {
            var representation = coding == AcceptEncoding.Identity ? entry : Compressor.Encode(entry, coding, compression) ?? entry;
            if (!ReferenceEquals(representation, entry))
            {
                metrics.CompressionSaved.Add(entry.Body.Length - representation.Body.Length, new KeyValuePair<string, object?>("coding", coding));
            }
            var ok = await writer.StoreAsync(context.Key!, http.Request, representation, exchange.VaryNames, coding);
            stored |= ok && coding == requestClass;
        }
        return stored;
    }
}
