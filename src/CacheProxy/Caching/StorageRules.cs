using CacheProxy.Configuration;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>Whether a response may be stored (RFC 9111 §3), and whether a 304 leaves the stored one storable.</summary>
internal static class StorageRules
{
    // The refusals that are the response's own: the same response would be refused for any request without credentials.
    private const string MustUnderstand = "must-understand";
    private const string NoStore = "no-store";
    private const string Private = "private";
    private const string VaryStar = "vary *";
    private const string NoExplicitFreshness = "no explicit freshness";
    private const string SetCookie = "set-cookie";

    /// <summary>
    /// Whether <paramref name="refusal"/> is the response's own — what it says of itself (no-store, private, Set-Cookie,
    /// Vary: *, must-understand of an unknown status, no freshness for a status that needs it) — rather than owed to
    /// the request (its method, conditions, range, directives, credentials) or to what is stored.
    /// </summary>
    public static bool IsTheResponses(string refusal) =>
        refusal is NoStore or Private or SetCookie or VaryStar or MustUnderstand or NoExplicitFreshness;

    /// <summary>Null when the upstream response of <paramref name="context"/> may be stored, else the reason it may not.</summary>
    /// <param name="context">The request's context; its response's status and headers are set.</param>
    /// <param name="options">The options in effect.</param>
    /// <param name="responseTime">When the response's head arrived.</param>
    /// <param name="privateFields">Fields to leave out when private="…" names them (RFC 9111 §5.2.2.7).</param>
    /// <param name="varyNames">The response's Vary field names, or null.</param>
    /// <param name="part">The part of the representation a 206 carries, or null.</param>
    public static string? Refusal(CacheContext context, CacheProxyOptions options, DateTimeOffset responseTime, out string[]? privateFields,
        out IReadOnlyList<string>? varyNames, out StoredPart? part)
    {
        privateFields = null;
        varyNames = null;
        part = null;
        var request = context.HttpContext.Request;
        var response = context.HttpContext.Response;
        var status = response.StatusCode;
        if (!context.IsStorableMethod)
        {
            return "method";
        }
        if (status is < 200 or 304 || status >= 600)
        {
            return "status";
        }
        if (status == StatusCodes.Status206PartialContent)
        {
            // RFC 9111 §3.3: a part is stored when we understand its range; it never replaces a complete response.
            if (PartialContent.Refusal(request, response, out var carried) is { } partRefusal)
            {
                return partRefusal;
            }
            if (context.StoredResponse is { StatusCode: not StatusCodes.Status206PartialContent })
            {
                return "a part over a stored complete response";
            }
            part = carried;
        }
        if (context.RequestCacheControl.NoStore)
        {
            return "request no-store";
        }
        if (status >= 400 && context.StoredResponse is { StatusCode: < 400 } && !options.ErrorsReplaceStoredSuccess)
        {
            return "error over a stored success"; // passed through; the stored response stays (docs/security.md)
        }
        if (!context.AllowCacheStorage)
        {
            return "policy";
        }
        var headers = CacheHeaders.From(response.Headers, options.Targeted);
        var cc = Freshness.Governing(headers, options.Targeted);
        if (cc.MustUnderstand && !Freshness.IsUnderstoodStatus(status))
        {
            return MustUnderstand;
        }
        // RFC 9111 §5.2.2.3: a cache that understands the status code ignores the no-store sent with must-understand.
        if (cc.NoStore && !cc.MustUnderstand)
        {
            return NoStore;
        }
        if (cc.Private)
        {
            if (cc.PrivateFields is null)
            {
                return Private;
            }
            privateFields = cc.PrivateFields;
        }
        // RFC 9111 §3.5: a response to a request with Authorization is stored only when explicitly allowed — or keyed
        // on the Authorization value (a GraphQL route keyed per caller), then for that caller alone.
        if (!StringValues.IsNullOrEmpty(request.Headers.Authorization) && !context.KeyedOnCaller
            && !(cc.Public || cc.MustRevalidate || cc.SharedMaxAge != CacheControl.Absent))
        {
            return "authorization";
        }
        if (!Variants.Names(response.Headers.Vary, out varyNames))
        {
            return VaryStar;
        }
        Freshness.Lifetime(headers, cc, status, responseTime, options.HeuristicFraction, options.HeuristicMaxLifetime,
            out var explicitExpiry, out _);
        // A response to a request with credentials is shared only when the origin said for how long (or public with a
        // validator, or a route's Ttl): a heuristic lifetime would share a page made for one user (docs/security.md).
        if (CarriesCredentials(request.Headers, options.CredentialHeaders, context.CookiesKeyed)
            && !(explicitExpiry || context.FreshnessLifetime is not null
                 || (cc.Public && (!StringValues.IsNullOrEmpty(headers.ETag) || !StringValues.IsNullOrEmpty(headers.LastModified)))))
        {
            return "credentials without explicit freshness";
        }
        var explicitlyCacheable = explicitExpiry || cc.Public || context.FreshnessLifetime is not null;
        if (!explicitlyCacheable && !Freshness.IsHeuristicallyCacheable(status))
        {
            return NoExplicitFreshness;
        }
        if (!StringValues.IsNullOrEmpty(response.Headers.SetCookie))
        {
            switch (context.SetCookie ?? options.SetCookie)
            {
                case SetCookiePolicy.StoreWithoutSetCookie:
                    privateFields = [.. privateFields ?? [], HeaderNames.SetCookie];
                    break;
                case SetCookiePolicy.StoreWithSetCookie when explicitlyCacheable:
                    break;
                default:
                    return SetCookie;
            }
        }
        if (varyNames is not null && !Variants.Suffix(request, varyNames, out _))
        {
            return "vary value";
        }
        return null;
    }

    /// <summary>The request carries Authorization, Cookie (unless every cookie left is keyed: <paramref name="cookiesKeyed"/>) or one of <paramref name="credentialHeaders"/>.</summary>
    public static bool CarriesCredentials(IHeaderDictionary headers, IList<string> credentialHeaders, bool cookiesKeyed = false)
    {
        if (!StringValues.IsNullOrEmpty(headers.Authorization) || (!cookiesKeyed && !StringValues.IsNullOrEmpty(headers.Cookie)))
        {
            return true;
        }
        for (var i = 0; i < credentialHeaders.Count; i++)
        {
            if (!StringValues.IsNullOrEmpty(headers[credentialHeaders[i]]))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A 304 may turn the stored response uncacheable (no-store, private); then it is dropped. Null when it stays.</summary>
    public static string? UpdateRefusal(CacheEntry updated, CacheProxyOptions options)
    {
        var cc = Freshness.Governing(CacheHeaders.From(updated, options.Targeted), options.Targeted);
        return cc.NoStore && !cc.MustUnderstand ? NoStore : cc.Private && cc.PrivateFields is null ? Private : null;
    }
}
