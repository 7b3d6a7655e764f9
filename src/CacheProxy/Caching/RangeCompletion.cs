using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// A request for the whole representation when a part of it is stored (RFC 9111 §3.4): only the rest is asked for,
/// on condition that the representation is still the stored part's (If-Range, RFC 9110 §13.1.5); the rest is held
/// back from the client, joined to the part, stored, and the whole answers the client. Anything else than that rest
/// goes nowhere and the request is asked again as the client sent it. The rules (what a part covers, how two parts
/// join) are <see cref="PartialContent"/>'s.
/// </summary>
internal sealed class RangeCompletion(ResponseStorer storer, StoredResponses served)
{
    /// <summary>
    /// Before the fetch: when the request asks for the whole and the lookup kept a stored part, asks for the rest of it
    /// instead. The rest asked for, or null.
    /// </summary>
    public static StoredPart? Plan(CacheContext context)
    {
        var request = context.HttpContext.Request;
        if (context.StoredResponse is not null || context.Lookup.Part is not { } storedPart || !PartialContent.TryPlanCompletion(storedPart.Entry, request, out var rest))
        {
            return null;
        }
        request.Headers.Range = $"bytes={rest.First}-{rest.Last}";
        request.Headers.IfRange = storedPart.Entry.GetHeader(HeaderNames.ETag);
        return rest;
    }

    /// <summary>At the start of a 206 to the completion: whether it is the rest of the same representation, to be stored (<paramref name="plan"/> not null).</summary>
    public static FetchDecision Decide(CacheContext context, StoredPart rest, StorePlan? plan, string correlationHeader)
    {
        var response = context.HttpContext.Response;
        var completes = plan is not null && plan.Part == rest && PartialContent.StrongMatch(response.Headers.ETag, context.Lookup.Part!.Entry.GetHeader(HeaderNames.ETag));
        FetchDecider.Discard(context.HttpContext, correlationHeader); // the client asked for the whole: nothing of this part goes to it as it is
        return completes ? new FetchDecision.CompletePart(plan!) : FetchDecision.AskAgain.Instance;
    }

    /// <summary>
    /// After <see cref="FetchDecision.CompletePart"/>: joins the held rest to the stored part, stores the whole and
    /// answers the client from it. Null when they did not join into the whole: then <see cref="Forget"/> and ask again.
    /// </summary>
    public async Task<FetchOutcome?> FinishAsync(CacheContext context, CacheExchange exchange, StorePlan plan, UpstreamResponse upstream,
        CaptureBodyFeature capture)
    {
        StoreResult result;
        try
        {
            result = await storer.StoreAsync(context, exchange, plan, upstream, capture);
        }
        finally
        {
            capture.Copy.Release();
        }
        if (result.Combined is not { StatusCode: StatusCodes.Status200OK } whole)
        {
            return null;
        }
        Forget(context);
        await served.ServeAsync(context, Served.Completed, served.Now(whole),
            new UpstreamAnswer(exchange.ForwardReason, StatusCodes.Status206PartialContent, Stored: result.Stored));
        return new FetchOutcome(result.Stored, false, false, upstream.Status);
    }

    /// <summary>Takes the completion's Range and If-Range off the request (the client sent neither), and the stored part off the lookup, before asking again.</summary>
    public static void Forget(CacheContext context)
    {
        var http = context.HttpContext;
        http.Request.Headers.Remove(HeaderNames.Range);
        http.Request.Headers.Remove(HeaderNames.IfRange);
        http.Response.StatusCode = StatusCodes.Status200OK;
        context.Looked(context.Lookup with { Part = null });
    }
}
