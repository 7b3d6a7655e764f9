using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// Requests the cache does not answer, step (2) of <see cref="CacheEngine"/>: they go upstream untouched, with
/// Cache-Status saying why, timed and counted; a successful unsafe request also invalidates what it changed.
/// </summary>
internal sealed class PassThrough(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, CacheKey keys, CacheWriter writer)
{
    /// <summary>Forwards a request the cache stays out of; <paramref name="status"/> is its Cache-Status member.</summary>
    public Task ForwardAsync(CacheContext context, RequestDelegate next, string status)
    {
        metrics.Request(context.RouteId, CacheOutcome.Bypass);
        context.HttpContext.Response.OnStarting(static state =>
        {
            var (http, value) = ((HttpContext, string))state;
            http.Response.Headers.Append(CacheProxyHeaderNames.CacheStatus, value);
            return Task.CompletedTask;
        }, (context.HttpContext, CacheStatus.Value(options.Current.CacheStatusName, status)));
        return TimedAsync(context.HttpContext, next, context.RouteId);
    }

    /// <summary>
    /// RFC 9111 §4.4: a non-error response to an unsafe (or unknown) method invalidates the target URI and the
    /// same-origin Location / Content-Location. Done before the response starts, so a client that reads the
    /// response and asks again cannot see the old entry.
    /// </summary>
    public Task ForwardUnsafeAsync(CacheContext context, RequestDelegate next)
    {
        metrics.Request(context.RouteId, CacheOutcome.Bypass);
        var http = context.HttpContext;
        http.Response.OnStarting(static state =>
        {
            var (self, http) = ((PassThrough, HttpContext))state;
            return self.InvalidateAsync(http);
        }, (this, http));
        return TimedAsync(http, next, context.RouteId);
    }

    private async Task InvalidateAsync(HttpContext http)
    {
        var response = http.Response;
        response.Headers.Append(CacheProxyHeaderNames.CacheStatus, CacheStatus.Value(options.Current.CacheStatusName, CacheStatus.UnsafeMethod));
        if (response.StatusCode is < 200 or >= 400)
        {
            return;
        }
        await writer.InvalidateAsync(keys.Build(http), http);
        await writer.InvalidateAsync(response.Headers.Location is { Count: > 0 } l ? keys.BuildForUri(http, l[0]!) : null, http);
        await writer.InvalidateAsync(response.Headers.ContentLocation is { Count: > 0 } c ? keys.BuildForUri(http, c[0]!) : null, http);
    }

    private async Task TimedAsync(HttpContext http, RequestDelegate next, string routeId)
    {
        var started = time.GetTimestamp();
        await next(http);
        UpstreamFetch.RecordUpstream(http, routeId, started, http.Response.StatusCode, metrics, time);
    }
}
