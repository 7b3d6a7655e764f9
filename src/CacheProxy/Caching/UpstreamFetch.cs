using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Caching;

/// <summary>
/// One request upstream through the rest of the pipeline (YARP), with the response captured: the
/// <see cref="FetchDecider"/> decides at its start (<see cref="FetchDecision"/>), and once the body has arrived the
/// decision's owner carries it out — <see cref="Revalidation"/>, <see cref="StoredResponses"/>,
/// <see cref="ResponseStorer"/> or <see cref="RangeCompletion"/>.
/// </summary>
internal sealed class UpstreamFetch(TimeProvider time, CacheProxyMetrics metrics, CaptureBudget budget, FetchDecider decider,
    Revalidation revalidation, ResponseStorer storer, RangeCompletion completion, StoredResponses served, SendTail tail)
{
    /// <summary>Forwards the request of <paramref name="context"/> and completes it; the outcome is what followers of this fetch learn.</summary>
    public async Task<FetchOutcome> ForwardAsync(CacheContext context, RequestDelegate next, string reason, bool background = false)
    {
        var http = context.HttpContext;
        var conditions = Revalidation.UseStoredValidators(context);
        if (context.Lookup.KeyedOnAcceptEncoding)
        {
            AcceptEncodingKeying.ForwardClass(http.Request);
        }
        var exchange = new CacheExchange(reason, background, time.GetUtcNow(), conditions, background ? null : RangeCompletion.Plan(context));
        using var revalidating = exchange.Validating ? CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.revalidate") : null;
        var upstream = default(UpstreamResponse);
        FetchDecision? decision = null;
        var original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CaptureBodyFeature(original, c =>
        {
            upstream = new UpstreamResponse(http.Response.StatusCode, time.GetUtcNow(), http.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None });
            var deciding = decider.DecideAsync(context, exchange, upstream, c);
            if (!deciding.IsCompletedSuccessfully)
            {
                return DecidedAsync(deciding);
            }
            decision = deciding.Result;
            return new(decision.Mode);
        }, budget);
        async ValueTask<CaptureMode> DecidedAsync(ValueTask<FetchDecision> deciding) => (decision = await deciding).Mode;
        http.Features.Set<IHttpResponseBodyFeature>(capture);
        var started = time.GetTimestamp();
        try
        {
            await next(http);
            await capture.DecideAsync();
        }
        finally
        {
            http.Features.Set(original);
        }
        // A client that left (canceled, connection gone) is not an upstream failure: it stays a miss.
        var noAnswer = http.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None } forwarderError
            && ErrorShaping.Classify(forwarderError) is { Category: not ErrorCategory.Client, Error: { } error } classified
                ? new CacheProxyErrorFeature(error, classified.Category, null) : null;
        var upstreamFailed = noAnswer is not null;
        RecordUpstream(http, context.RouteId, started, upstream.Status, metrics, time);
        if (capture.BytesWritten > 0)
        {
            metrics.Fetched(context.RouteId, capture.BytesWritten);
        }
        if (!background)
        {
            tail.Watch(http, context.RouteId, capture.BytesWritten);
        }
        revalidating?.SetTag("cacheproxy.upstream_status", upstream.Status);
        if (decision is FetchDecision.CompletePart complete && await completion.FinishAsync(context, exchange, complete.Plan, upstream, capture) is { } completed)
        {
            return completed;
        }
        if (decision is FetchDecision.CompletePart or FetchDecision.AskAgain)
        {
            capture.Copy.Release();
            RangeCompletion.Forget(context);
            return await ForwardAsync(context, next, reason, background);
        }
        if (!background && decision is FetchDecision.Store or FetchDecision.PassOn)
        {
            metrics.Request(context.MetricKey, upstreamFailed ? CacheOutcome.Error : CacheOutcome.Miss); // a stored response served counts itself
        }
        var stored = false;
        try
        {
            stored = decision switch
            {
                FetchDecision.Merge304 merge => await revalidation.CompleteAsync(context, exchange, merge, upstream),
                FetchDecision.ServeStale => await ServeStaleAsync(context, exchange, upstream),
                FetchDecision.Store store => (await storer.KeepAsync(context, exchange, store.Plan, upstream, capture, upstreamFailed)).Stored,
                FetchDecision.Assemble assemble => await AssembleAsync(context, exchange, assemble, upstream, capture, upstreamFailed),
                FetchDecision.Inspect => await AssembleAsync(context, exchange, await decider.DecideInspectedAsync(context, exchange, upstream, capture), upstream,
                    capture, upstreamFailed),
                FetchDecision.PassOn { Marked: true } when context.Lookup.Entry is not null => await storer.ForgetAsync(context),
                _ => false,
            };
        }
        finally
        {
            capture.Copy.Release();
            await capture.ReleaseHeldAsync(); // only now can the client see the end of a response it may ask for again
        }
        if (background)
        {
            metrics.BackgroundRefreshes.Add(1, new KeyValuePair<string, object?>("outcome",
                decision is FetchDecision.Merge304 ? "not_modified" : upstreamFailed ? "failed" : stored ? "updated" : "not_stored"));
        }
        return new FetchOutcome(stored, upstream.Failed, upstream.Unreachable, upstream.Status, Error: stored ? null : noAnswer);
    }

    /// <summary>
    /// <see cref="FetchDecision.Assemble"/>: the held page (or GraphQL response) stored when it may be, and answered
    /// (an ESI page assembled) from what came; one that could not be held whole (over <c>MaxObjectSize</c>, or cut short) is a 502.
    /// </summary>
    private async Task<bool> AssembleAsync(CacheContext context, CacheExchange exchange, FetchDecision.Assemble assemble, UpstreamResponse upstream,
        CaptureBodyFeature capture, bool upstreamFailed)
    {
        var http = context.HttpContext;
        var result = default(StoreResult);
        if (assemble.Plan is { } plan)
        {
            result = await storer.KeepAsync(context, exchange, plan, upstream, capture, upstreamFailed);
            if (result.Stored && result.Entry is { } entry)
            {
                context.HeldBy?.Stored(context, entry, plan.VaryNames);
            }
        }
        else if (!upstreamFailed && Esi.EsiAssembler.Held(http, capture, upstream.Status, assemble.Fields, exchange.RequestTime, upstream.Time) is { } held)
        {
            result = new StoreResult(false, Entry: held);
        }
        if (exchange.Background)
        {
            return result.Stored; // a refresh no client waits for: stored only
        }
        if (result.Entry is not { } page)
        {
            if (!http.RequestAborted.IsCancellationRequested)
            {
                served.AnswerWithError(context, CacheOutcome.Error, CacheStatus.Forwarded(exchange.ForwardReason, upstream.Status, false),
                    Esi.EsiAssembler.NotHeld);
            }
            return false;
        }
        await served.ServeAsync(context, Served.Fetched, served.Now(page), new UpstreamAnswer(exchange.ForwardReason, upstream.Status, Stored: result.Stored));
        return result.Stored;
    }

    private async Task<bool> ServeStaleAsync(CacheContext context, CacheExchange exchange, UpstreamResponse upstream)
    {
        Revalidation.RestoreClientConditions(context.HttpContext, exchange); // our validators failed upstream: not the client's
        context.HttpContext.Response.StatusCode = StatusCodes.Status200OK;
        await served.ServeAsync(context, Served.StaleOnError, served.Now(context.StoredResponse!),
            new UpstreamAnswer(exchange.ForwardReason, upstream.Status, upstream.Unreachable));
        return false;
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
}
