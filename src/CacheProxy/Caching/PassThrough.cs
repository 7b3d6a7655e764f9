using CacheProxy.Configuration;
using CacheProxy.Storage;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Invalidation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Caching;

/// <summary>
/// Requests the cache does not answer, step (2) of <see cref="CacheEngine"/>: they go upstream untouched, with
/// Cache-Status saying why, timed and counted; a successful unsafe request also invalidates what it changed.
/// </summary>
internal sealed class PassThrough(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, CacheKey keys,
    Invalidations invalidations, ILoggerFactory loggers, SendTail tail, Esi.EsiAssembler esi, CaptureBudget budget, Cdn.CdnForwarder cdn,
    Cdn.DownstreamFields downstream)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Forwards a request the cache stays out of; <paramref name="status"/> is its Cache-Status member.</summary>
    public Task ForwardAsync(CacheContext context, RequestDelegate next, string status)
    {
        metrics.Request(context.MetricKey, CacheOutcome.Bypass);
        context.HttpContext.Response.OnStarting(static state =>
        {
            var (self, http, value, routeId) = ((PassThrough, HttpContext, string, string))state;
            http.Response.Headers.Append(CacheProxyHeaderNames.CacheStatus, value);
            self.RemoveEdgeFields(http, routeId);
            return Task.CompletedTask;
        }, (this, context.HttpContext, CacheStatus.Value(options.Current.CacheStatusName, status), context.RouteId));
        return TimedAsync(context.HttpContext, next, context.RouteId);
    }

    /// <summary>
    /// RFC 9111 §4.4: a non-error response to an unsafe (or unknown) method invalidates the target URI and the
    /// same-origin Location / Content-Location. Done before the response starts, so a client that reads the
    /// response and asks again cannot see the old entry.
    /// </summary>
    public Task ForwardUnsafeAsync(CacheContext context, RequestDelegate next)
    {
        metrics.Request(context.MetricKey, CacheOutcome.Bypass);
        var http = context.HttpContext;
        http.Response.OnStarting(static state =>
        {
            var (self, http, routeId) = ((PassThrough, HttpContext, string))state;
            return self.InvalidateAsync(http, routeId);
        }, (this, http, context.RouteId));
        return TimedAsync(http, next, context.RouteId);
    }

    private async Task InvalidateAsync(HttpContext http, string routeId)
    {
        var response = http.Response;
        response.Headers.Append(CacheProxyHeaderNames.CacheStatus, CacheStatus.Value(options.Current.CacheStatusName, CacheStatus.UnsafeMethod));
        RemoveEdgeFields(http, routeId);
        if (response.StatusCode is < 200 or >= 400)
        {
            return;
        }
        // Purges of the URLs, so that a fill that began before this answer cannot store the old state either.
        var now = time.GetUtcNow();
        var purges = new List<InvalidationMessage>(3);
        // What a CDN in front is told, when it is (Cdn:ForwardUnsafeInvalidations): the same URLs, absolute.
        var target = options.Current.Cdn.ForwardUnsafeInvalidations ? new Uri(Microsoft.AspNetCore.Http.Extensions.UriHelper.GetEncodedUrl(http.Request)) : null;
        var urls = new List<string>(3);
        foreach (var (key, url) in new[]
        {
            (keys.Build(http), target?.AbsoluteUri),
            response.Headers.Location is { Count: > 0 } l ? (keys.BuildForUri(http, l[0]!), l[0]) : (null, null),
            response.Headers.ContentLocation is { Count: > 0 } c ? (keys.BuildForUri(http, c[0]!), c[0]) : (null, null),
        })
        {
            if (key is not null)
            {
                purges.Add(new InvalidationMessage(InvalidationScope.Key, CacheKey.UrlPart(key).ToString(), Time: now));
                Log.Invalidated(_logger, new KeyHash(key), http.Request.Method, response.StatusCode);
                if (target is not null && Uri.TryCreate(target, url, out var absolute))
                {
                    urls.Add(absolute.AbsoluteUri);
                }
            }
        }
        var (_, published) = await invalidations.ApplyAsync(purges);
        if (urls.Count > 0 && published != false && await cdn.QueueAsync(urls, [], [], soft: false) is { Refused: { } refused })
        {
            Log.CdnForwardingNotQueued(_logger, $"{http.Request.Method} (an unsafe method's invalidation)", refused);
        }
    }

    /// <summary>
    /// The fields meant for this cache, as a response that went through it loses them: tags, Surrogate-Control when
    /// honored, this gateway's own targeted field; then what the route tells the CDN, the upstream's tags included.
    /// </summary>
    private void RemoveEdgeFields(HttpContext http, string routeId)
    {
        var headers = http.Response.Headers;
        var current = options.Current;
        ConsumedFields.Remove(headers, current);
        var tags = current.Tags;
        var forCdn = downstream.Any(routeId) ? ResponseTags.Read(headers, tags) : null;
        if (tags.RemoveTagHeaders)
        {
            foreach (var name in new[] { tags.SurrogateKeyHeader, tags.CacheTagHeader })
            {
                if (name.Length > 0)
                {
                    headers.Remove(name);
                }
            }
        }
        if (forCdn is not null)
        {
            downstream.Apply(http, headers, routeId, forCdn);
        }
    }

    private async Task TimedAsync(HttpContext http, RequestDelegate next, string routeId)
    {
        var started = time.GetTimestamp();
        if (esi.Enabled(routeId))
        {
            await AssembledAsync(http, next, routeId, started);
            return;
        }
        await next(http);
        UpstreamFetch.RecordUpstream(http, routeId, started, http.Response.StatusCode, metrics, time);
        tail.Watch(http, routeId, http.Response.ContentLength);
    }

    /// <summary>
    /// On a route that processes ESI, a response that negotiated it is held back (up to <c>MaxObjectSize</c>) and
    /// answered assembled, though it is not stored; any other passes as it comes. The edge fields and Cache-Status are
    /// set as the assembled response starts, by the callback <see cref="ForwardAsync"/> registered.
    /// </summary>
    private async Task AssembledAsync(HttpContext http, RequestDelegate next, string routeId, long started)
    {
        var current = options.Current;
        List<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>>? fields = null;
        var status = 0;
        var original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CaptureBodyFeature(original, c =>
        {
            var response = http.Response;
            if (!esi.Processes(routeId, response.Headers))
            {
                return new(CaptureMode.PassThrough);
            }
            fields = HeaderFilter.ForStorage(response.Headers, null, current.Correlation.HeaderName);
            status = response.StatusCode;
            c.StartBuffering(current.MaxObjectSize, response.ContentLength);
            FetchDecider.Discard(http, current.Correlation.HeaderName);
            return new(CaptureMode.Hold);
        }, budget);
        http.Features.Set<IHttpResponseBodyFeature>(capture);
        try
        {
            await next(http);
            await capture.DecideAsync();
        }
        finally
        {
            http.Features.Set(original);
        }
        UpstreamFetch.RecordUpstream(http, routeId, started, status == 0 ? http.Response.StatusCode : status, metrics, time);
        if (capture.Mode != CaptureMode.Hold)
        {
            tail.Watch(http, routeId, http.Response.ContentLength);
            return;
        }
        try
        {
            var now = time.GetUtcNow();
            if (Esi.EsiAssembler.Held(http, capture, status, fields!, now, now) is not { } page)
            {
                if (!http.RequestAborted.IsCancellationRequested)
                {
                    http.Features.Set<ICacheProxyErrorFeature>(Esi.EsiAssembler.NotHeld);
                }
                return;
            }
            await esi.WriteAsync(http, routeId, page, StoredPolicy.Of(page, current), TimeSpan.Zero, status: null);
        }
        finally
        {
            capture.Copy.Release();
        }
    }
}
