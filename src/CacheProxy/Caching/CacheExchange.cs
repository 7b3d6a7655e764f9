using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>A request on its way upstream, as its fetch set it up; made only on that path, and never changed after.</summary>
/// <param name="ForwardReason">The RFC 9211 forward reason: miss, vary-miss, stale, request.</param>
/// <param name="Background">A stale-while-revalidate refresh, on a request of our own; nobody waits for its answer.</param>
/// <param name="RequestTime">When it went (RFC 9111 §4.2.3 request_time).</param>
/// <param name="ClientConditions">The client's own conditional fields, set aside while validating with the stored response's; null when not validating.</param>
/// <param name="Completing">The rest of the lookup's stored part this fetch asks for, to answer the whole request from both.</param>
internal sealed record CacheExchange(string ForwardReason, bool Background, DateTimeOffset RequestTime, ClientConditions? ClientConditions,
    StoredPart? Completing)
{
    /// <summary>Conditional request fields were replaced by the stored response's validators.</summary>
    public bool Validating => ClientConditions is not null;
}

/// <summary>A client's If-None-Match and If-Modified-Since, set aside while the cache validates with its own.</summary>
internal sealed record ClientConditions(StringValues IfNoneMatch, StringValues IfModifiedSince);
