using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Invalidation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// Decides what becomes of an upstream response, once, when its status and headers are known and before any of it
/// reaches the client (<see cref="CaptureBodyFeature"/> asks): a 304 to merge, the stale response instead of a
/// failure, the response passed on and stored — when RFC 9111 (<see cref="StorageRules"/>), the response-phase
/// policies and the size limit allow — or passed on only, and for the rest of a stored part, whether it completes it.
/// It changes only the response's head (Cache-Status, Vary, tag fields, Surrogate-Control); the decision's owner
/// does the rest.
/// </summary>
internal sealed class FetchDecider(LastGoodOptions options, CacheProxyMetrics metrics, CachePolicies policies, ResponseTags tags,
    Compressor compressor, ResponseStorer storer, HitForPass hitForPass, Esi.EsiAssembler esi, Cdn.DownstreamFields downstream,
    IEnumerable<IHeldResponses> held)
{
    private readonly IHeldResponses[] _held = [.. held];

    /// <summary>The decision for the upstream response now starting; synchronous unless a response-phase policy awaits.</summary>
    public ValueTask<FetchDecision> DecideAsync(CacheContext context, CacheExchange exchange, UpstreamResponse upstream, CaptureBodyFeature capture)
    {
        var http = context.HttpContext;
        var response = http.Response;
        var current = options.Current;
        if (exchange.Validating && upstream.Status == StatusCodes.Status304NotModified)
        {
            tags.TakeHeaders(context, response.Headers, storing: false); // the stored response keeps its tags
            var fields = HeaderFilter.ForStorage(response.Headers, null, current.Correlation.HeaderName);
            Discard(http, current.Correlation.HeaderName);
            return new(new FetchDecision.Merge304([.. fields]));
        }
        if (context.Lookup.Entry is { } stale && context.StoredResponse is not null && !exchange.Background && upstream.Failed
            && ReuseRules.StaleOnErrorAllows(context, Candidate.At(stale, current, upstream.Time, context.Lookup.PurgedSince), upstream.Unreachable, current))
        {
            Discard(http, current.Correlation.HeaderName); // nothing of the failing response goes with the stale one
            return new(FetchDecision.ServeStale.Instance);
        }
        var responsePhase = policies.OnResponseAsync(context);
        if (!responsePhase.IsCompletedSuccessfully)
        {
            return AfterPoliciesAsync(responsePhase, context, exchange, upstream, capture);
        }
        responsePhase.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        return new(AfterPolicies(context, exchange, upstream, capture));
    }

    private async ValueTask<FetchDecision> AfterPoliciesAsync(ValueTask responsePhase, CacheContext context, CacheExchange exchange,
        UpstreamResponse upstream, CaptureBodyFeature capture)
    {
        await responsePhase;
        return AfterPolicies(context, exchange, upstream, capture);
    }

    /// <summary>After the response-phase policies: stored and passed on, passed on only, or the rest of a stored part.</summary>
    private FetchDecision AfterPolicies(CacheContext context, CacheExchange exchange, in UpstreamResponse upstream, CaptureBodyFeature capture)
    {
        var current = options.Current;
        var response = context.HttpContext.Response;
        // A response whose body decides (a GraphQL query's, docs/graphql.md) or is replaced (an image variant's) is held back.
        if (exchange.Completing is null)
        {
            foreach (var holder in _held)
            {
                if (holder.Holds(context, response, current))
                {
                    context.HeldBy = holder;
                    capture.StartBuffering(current.MaxObjectSize, response.ContentLength);
                    return FetchDecision.Inspect.Instance;
                }
            }
        }
        // An ESI page is held back and assembled (docs/esi.md); one refreshed in the background only stored.
        var assemble = !exchange.Background && exchange.Completing is null && esi.Processes(context.RouteId, response.Headers);
        var plan = Plan(context, exchange, upstream, capture, out var refusal, out var marked);
        var stored = plan is not null && capture.Copy.Buffering; // no memory to keep it even at the start: not "stored" (logged and counted after)
        if (assemble)
        {
            var fields = plan?.Headers ?? HeaderFilter.ForStorage(response.Headers, null, current.Correlation.HeaderName);
            if (plan is null)
            {
                capture.StartBuffering(current.MaxObjectSize, response.ContentLength);
            }
            Discard(context.HttpContext, current.Correlation.HeaderName);
            return new FetchDecision.Assemble(stored ? plan : null, fields);
        }
        ConsumedFields.Remove(response.Headers, current);
        downstream.Apply(context.HttpContext, response.Headers, context.RouteId, context.HasTags ? context.Tags : []);
        if (exchange.Completing is { } rest && upstream.Status == StatusCodes.Status206PartialContent)
        {
            return RangeCompletion.Decide(context, rest, stored ? plan : null, current.Correlation.HeaderName);
        }
        response.Headers.Append(CacheProxyHeaderNames.CacheStatus,
            CacheStatus.Value(current.CacheStatusName, CacheStatus.Forwarded(exchange.ForwardReason, upstream.Status, stored)));
        return plan is null ? new FetchDecision.PassOn(refusal!, marked) : new FetchDecision.Store(plan);
    }

    /// <summary>
    /// <see cref="FetchDecision.Inspect"/> once the held body is in: what its holder makes of it applied (<see cref="IHeldResponses"/>),
    /// then RFC 9111's rules as for any response; the held response is answered as an <see cref="FetchDecision.Assemble"/>.
    /// </summary>
    public async ValueTask<FetchDecision.Assemble> DecideInspectedAsync(CacheContext context, CacheExchange exchange, UpstreamResponse upstream, CaptureBodyFeature capture)
    {
        var current = options.Current;
        var response = context.HttpContext.Response;
        StorePlan? plan = null;
        if (await context.HeldBy!.ApplyAsync(context, capture, upstream.Time, current) is { } refusal)
        {
            storer.NotStored(context, refusal);
        }
        else
        {
            plan = Plan(context, exchange, upstream, capture, out _, out _, bodyHeld: true);
        }
        var stored = plan is not null && capture.Copy.Buffering;
        var fields = plan?.Headers ?? HeaderFilter.ForStorage(response.Headers, null, current.Correlation.HeaderName);
        Discard(context.HttpContext, current.Correlation.HeaderName);
        return new FetchDecision.Assemble(stored ? plan : null, fields);
    }

    /// <summary>
    /// RFC 9111's rules (after the response-phase policies), the size limit and Accept-Encoding keying: how to store
    /// the response, with the capture started (unless <paramref name="bodyHeld"/>: it is in already); null and
    /// <paramref name="refusal"/> when it is not stored.
    /// </summary>
    private StorePlan? Plan(CacheContext context, CacheExchange exchange, in UpstreamResponse upstream, CaptureBodyFeature capture, out string? refusal,
        out bool marking, bool bodyHeld = false)
    {
        var current = options.Current;
        var request = context.HttpContext.Request;
        var response = context.HttpContext.Response;
        refusal = StorageRules.Refusal(context, current, upstream.Time, out var privateFields, out var varyNames, out var part);
        var responsesOwn = refusal is not null && StorageRules.IsTheResponses(refusal);
        if (refusal is null && response.ContentLength > current.MaxObjectSize)
        {
            // Known before the first byte: Cache-Status must not say "stored" for a body the cache will not keep.
            refusal = $"Content-Length {response.ContentLength} larger than CacheProxy:MaxObjectSize";
            responsesOwn = true;
            metrics.TooLargeToStore.Add(1);
        }
        var compress = refusal is null && !AcceptEncodingKeying.EncodedByOrigin(response) && compressor.Applies(context, response); // a 200 only: never a part
        refusal ??= AcceptEncodingKeying.Key(request, response, compress, context.Lookup.KeyedOnAcceptEncoding, ref varyNames);
        marking = responsesOwn && hitForPass.Marks(context, upstream.Status);
        // A hit-for-pass mark ends with its tags' purges; a route that tells the CDN its tags does so for what is not stored too.
        tags.TakeHeaders(context, response.Headers, storing: refusal is null || marking || downstream.Any(context.RouteId));
        if (refusal is not null)
        {
            storer.NotStored(context, refusal);
            if (marking)
            {
                hitForPass.Mark(context, exchange, refusal, tags.Complete(context));
            }
            return null;
        }
        var plan = new StorePlan(HeaderFilter.ForStorage(response.Headers, privateFields, current.Correlation.HeaderName), varyNames,
            tags.Complete(context), compress, part, context.FreshnessLifetime);
        if (!bodyHeld)
        {
            capture.StartBuffering(current.MaxObjectSize, response.ContentLength);
        }
        return plan;
    }

    /// <summary>
    /// Drops the upstream response's fields and reason phrase: a stored response is served in its place. The request's
    /// correlation id (set on the response when the request came in) stays.
    /// </summary>
    internal static void Discard(HttpContext http, string correlationHeader)
    {
        var id = http.Response.Headers[correlationHeader];
        http.Response.Headers.Clear();
        if (!Microsoft.Extensions.Primitives.StringValues.IsNullOrEmpty(id))
        {
            http.Response.Headers[correlationHeader] = id;
        }
        if (http.Features.Get<IHttpResponseFeature>() is { } feature)
        {
            feature.ReasonPhrase = null;
        }
    }
}
