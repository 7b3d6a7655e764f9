using CacheProxy.Diagnostics;

namespace CacheProxy.Caching;

/// <summary>How an upstream fetch ended, as the requests that waited for it learn.</summary>
/// <param name="Stored">A response (new, or refreshed by a 304) was stored.</param>
/// <param name="UpstreamFailed">The upstream answered with a server error or not at all.</param>
/// <param name="Unreachable">The upstream could not be reached at all.</param>
/// <param name="UpstreamStatus">The upstream's status.</param>
/// <param name="Abandoned">The leading request's client went away before a response was stored (its fetch was cancelled with it).</param>
/// <param name="Error">No answer came (a timeout, no connection, a reset): the error its client was answered with.</param>
internal readonly record struct FetchOutcome(bool Stored, bool UpstreamFailed, bool Unreachable, int UpstreamStatus, bool Abandoned = false,
    CacheProxyErrorFeature? Error = null);
