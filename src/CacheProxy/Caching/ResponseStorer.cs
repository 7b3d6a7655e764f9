using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Caching;

/// <summary>What storing a response did.</summary>
/// <param name="Stored">The entry answering the request's Accept-Encoding class was stored.</param>
/// <param name="Combined">The entry a new part and the stored one were joined into (RFC 9111 §3.4), when they were.</param>
/// <param name="Entry">The entry made of the response (the combined one when joined); null when the body was incomplete.</param>
internal readonly record struct StoreResult(bool Stored, CacheEntry? Combined = null, CacheEntry? Entry = null);

/// <summary>
/// Carries out <see cref="FetchDecision.Store"/> once the body has arrived: the kept body stored — joined to a stored
/// part of the same representation, and in each Accept-Encoding class's coding when it is one to compress, made once
/// here — or, when it could not be kept (memory, size, an incomplete body), the reason logged (event 1003) and kept
/// for <c>GET /inspect</c>.
/// </summary>
internal sealed class ResponseStorer(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers, CacheWriter writer,
    Compressor compressor, NotStoredRecord notStored, HitForPass hitForPass, ILinkWarmer? links = null)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Stores what the capture kept, or says why it could not.</summary>
    public async Task<StoreResult> KeepAsync(CacheContext context, CacheExchange exchange, StorePlan plan, UpstreamResponse upstream,
        CaptureBodyFeature capture, bool upstreamFailed)
    {
        if (capture.Copy.Buffering)
        {
            var result = await StoreAsync(context, exchange, plan, upstream, capture);
            if (result.Stored)
            {
                hitForPass.End(context);
            }
            return result;
        }
        if (capture.Copy.SkipReason is { } skipped)
        {
            metrics.CaptureSkipped.Add(1, new KeyValuePair<string, object?>("reason", capture.Copy.OutOfMemory ? "out_of_memory" : "limit"));
            Log.CaptureSkipped(_logger, CacheKey.Hash(context.Key!), skipped);
            notStored.Add(context.Key!, skipped);
        }
        else if (!upstreamFailed)
        {
            // Storable, but its body outgrew CacheProxy:MaxObjectSize: streamed to the client, not kept.
            metrics.TooLargeToStore.Add(1);
            var reason = $"body larger than CacheProxy:MaxObjectSize ({capture.BytesWritten} bytes sent)";
            NotStored(context, reason);
            if (hitForPass.Marks(context, upstream.Status))
            {
                hitForPass.Mark(context, exchange, reason, plan.Tags); // the next requests are not captured only to overflow again
            }
        }
        return default;
    }

    /// <summary>Stores the body the capture kept, unless it arrived incomplete.</summary>
    public async Task<StoreResult> StoreAsync(CacheContext context, CacheExchange exchange, StorePlan plan, UpstreamResponse upstream,
        CaptureBodyFeature capture)
    {
        var http = context.HttpContext;
        var expected = http.Response.ContentLength;
        if (http.Features.Get<IForwarderErrorFeature>() is not null || http.RequestAborted.IsCancellationRequested
            || (expected is not null && expected != capture.BytesWritten) || (plan.Part is { } part && part.Length != capture.BytesWritten))
        {
            var hash = CacheKey.Hash(context.Key!);
            Log.IncompleteBodyNotStored(_logger, hash, capture.BytesWritten, expected ?? plan.Part?.Length);
            notStored.Add(context.Key!, $"incomplete body: {capture.BytesWritten} bytes of {expected ?? plan.Part?.Length}");
            return default;
        }
        var entry = new CacheEntry
        {
            StatusCode = upstream.Status,
            Headers = plan.Headers,
            Body = capture.Copy.Take(),
            RequestTime = exchange.RequestTime,
            ResponseTime = upstream.Time,
            FreshnessOverride = plan.FreshnessOverride,
            Tags = plan.Tags,
        };
        CacheEntry? combined = null;
        if (plan.Part is { } newPart && context.Lookup.Part is { } storedPart)
        {
            // RFC 9111 §3.4: parts of one representation become one entry; the complete response once they cover it.
            combined = PartialContent.Combine(storedPart.Entry, entry, newPart, options.Current.MaxObjectSize);
            entry = combined ?? entry;
        }
        var compression = compressor.For(context.RouteId);
        if (!plan.Compress || entry.Body.Length < compression.MinimumSize)
        {
            return Warmed(new StoreResult(await writer.StoreAsync(context.Key!, http.Request, entry, plan.VaryNames), combined, entry), context);
        }
        // The identity body under each Accept-Encoding class's key, in one change of the URL's rule: one fetch answers
        // every class, and a class's first hit compresses it for that class (DeferredCompression), so a miss costs
        // no compression. The request's class first: whether it was stored is what Cache-Status said.
        var requestClass = AcceptEncoding.Class(http.Request.Headers.AcceptEncoding);
        var stored = await writer.StoreAsync(context.Key!, http.Request, entry, plan.VaryNames,
            [requestClass, .. Compressor.Classes.Where(c => c != requestClass)]);
        return Warmed(new StoreResult(stored, combined, entry), context);
    }

    // A stored response's Link preloads, warmed when the route asks for it (AddWarming).
    private StoreResult Warmed(StoreResult result, CacheContext context)
    {
        if (result.Stored && links is not null && result.Entry is { } entry)
        {
            links.Stored(context.RouteId, context.HttpContext.Request, entry.Headers);
        }
        return result;
    }

    /// <summary>
    /// A response that may not be shared, for a reason of its own, came for a key the lookup found stored (stale, or
    /// asked past with no-cache): the stored one no longer stands for what the origin serves, and would keep the key's
    /// requests collapsing on it, so it is removed (Varnish's hit-for-pass object replaces the cached one). False: nothing stored.
    /// </summary>
    public async Task<bool> ForgetAsync(CacheContext context)
    {
        await writer.InvalidateAsync(context.Lookup.FetchKey, context.HttpContext);
        return false;
    }

    /// <summary>Event 1003, and the reason kept for <c>GET /inspect</c>.</summary>
    public void NotStored(CacheContext context, string reason)
    {
        Log.ResponseNotStored(_logger, new KeyHash(context.Key!), reason);
        notStored.Add(context.Key!, reason);
    }
}
