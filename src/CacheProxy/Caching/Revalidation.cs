using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// Validation of a stored response with the origin (RFC 9111 §4.3): the stored validators replace the client's
/// conditional fields on the way up, and a 304 freshens the stored response, which then answers the client (whose
/// own conditions are evaluated against it by the <see cref="StoredResponseWriter"/>).
/// </summary>
internal sealed class Revalidation(LastGoodOptions options, CacheWriter writer, StoredResponses served)
{
    /// <summary>
    /// RFC 9111 §4.3.1: sends the stored response's validators instead of the client's conditions, which it returns
    /// (set aside); null when there is no stored response, or it has no validator.
    /// </summary>
    public static ClientConditions? UseStoredValidators(CacheContext context)
    {
        var policy = context.Candidate.Policy;
        // A POST with If-None-Match asks for 412 when it matches (RFC 9110 §13.1.2), not 304: a GraphQL POST is refetched whole.
        if (context.StoredResponse is null || !policy.HasValidator || HttpMethods.IsPost(context.HttpContext.Request.Method))
        {
            return null;
        }
        var headers = context.HttpContext.Request.Headers;
        var client = new ClientConditions(headers.IfNoneMatch, headers.IfModifiedSince);
        headers.Remove(HeaderNames.IfNoneMatch);
        headers.Remove(HeaderNames.IfModifiedSince);
        if (context.StoredResponse!.StatusCode != StatusCodes.Status206PartialContent)
        {
            // A stored part is validated for the range it answers, with the client's If-Range (a changed
            // representation then comes whole, as the client asked); a complete response is validated whole.
            headers.Remove(HeaderNames.IfRange);
            headers.Remove(HeaderNames.Range);
        }
        if (!StringValues.IsNullOrEmpty(policy.ETag))
        {
            headers.IfNoneMatch = policy.ETag;
        }
        if (policy.LastModifiedDate is not null)
        {
            headers.IfModifiedSince = policy.LastModified;
        }
        return client;
    }

    /// <summary>
    /// Puts the client's own conditions back in place of the stored validators <see cref="UseStoredValidators"/> sent,
    /// before a stored response answers it: it is the client's If-None-Match that may make the answer a 304, never ours.
    /// </summary>
    public static void RestoreClientConditions(HttpContext http, CacheExchange exchange)
    {
        if (exchange.ClientConditions is { } client)
        {
            var headers = http.Request.Headers;
            headers.IfNoneMatch = client.IfNoneMatch;
            headers.IfModifiedSince = client.IfModifiedSince;
        }
    }

    /// <summary>
    /// RFC 9111 §4.3.4: the upstream answered our validation with 304. Stores the stored response freshened with the
    /// 304's fields — or drops it when the 304 made it unstorable — and, unless nobody waits (a background refresh),
    /// answers the client from it. True when it was stored.
    /// </summary>
    public async Task<bool> CompleteAsync(CacheContext context, CacheExchange exchange, FetchDecision.Merge304 merge, UpstreamResponse upstream)
    {
        var current = options.Current;
        var stale = context.StoredResponse!;
        var fields = HeaderFilter.Update(stale.Headers, merge.Fields);
        var freshened = stale.With(fields, exchange.RequestTime, upstream.Time);
        // A 304's Set-Cookie is for the client whose request caused it. It is stored only in place of one the stored
        // response carries (SetCookiePolicy.StoreWithSetCookie); a response stored without one stays without.
        var updated = stale.GetHeader(HeaderNames.SetCookie).Count == 0 && freshened.GetHeader(HeaderNames.SetCookie).Count > 0
            ? stale.With(fields.FindAll(h => !h.Key.Equals(HeaderNames.SetCookie, StringComparison.OrdinalIgnoreCase)), exchange.RequestTime, upstream.Time)
            : freshened;
        var http = context.HttpContext;
        var refusal = StorageRules.UpdateRefusal(updated, current);
        var stored = false;
        if (refusal is null)
        {
            Variants.Names(updated.GetHeader(HeaderNames.Vary), out var varyNames);
            stored = await writer.StoreAsync(context.Key!, http.Request, updated, varyNames);
        }
        else
        {
            await writer.InvalidateAsync(context.Key, http);
        }
        if (exchange.Background)
        {
            return stored;
        }
        RestoreClientConditions(http, exchange);
        http.Response.StatusCode = StatusCodes.Status200OK;
        await served.ServeAsync(context, Served.Validated, served.Now(freshened),
            new UpstreamAnswer(exchange.ForwardReason, StatusCodes.Status304NotModified, Stored: refusal is null));
        return stored;
    }
}
