using System.Collections;
using System.Diagnostics;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Diagnostics;

/// <summary>
/// Gives every request a correlation id: the client's (when valid: bounded length, safe characters), else a new
/// one (the trace id when a trace is active, so logs and traces join). It is forwarded upstream, echoed on the
/// response and attached to the current Activity; <see cref="Scope"/> is the log scope put around everything the
/// request logs.
/// </summary>
internal sealed class CorrelationIds
{
    private readonly ILogger _logger;
    private readonly LastGoodOptions _options;
    private readonly ILogger _security;

    public CorrelationIds(LastGoodOptions options, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger(LogCategories.Cache);
        _security = loggers.CreateLogger(LogCategories.Security);
    }

    /// <summary>Assigns the request its id: echoed on the response, the request's feature (<see cref="Forward"/> sends it upstream).</summary>
    /// <returns>The id, which is also the log scope of the request (<see cref="Scope"/>).</returns>
    public ICorrelationIdFeature Assign(HttpContext context)
    {
        var settings = _options.Current.Correlation;
        var name = settings.HeaderName;
        var incoming = context.Request.Headers[name];
        string id;
        string? replaces = null;
        if (incoming.Count == 1 && IsValid(incoming[0], settings.MaxLength))
        {
            id = incoming[0]!;
        }
        else
        {
            id = Generate();
            replaces = name;
            if (incoming.Count > 0)
            {
                Log.CorrelationIdReplaced(_security, name, incoming.ToString().Length, incoming.Count, id);
            }
        }
        context.Response.Headers[name] = id;
        var scope = new CorrelationScope(id, replaces); // one object: the request's feature and its log scope
        context.Features.Set<ICorrelationIdFeature>(scope);
        Activity.Current?.SetTag("correlation.id", id);
        return scope;
    }

    /// <summary>
    /// Puts a generated id into the request's header, which YARP forwards upstream (a client's valid id is there
    /// already). Only requests that may go upstream need it; hits answered from the cache skip the header write.
    /// </summary>
    public static void Forward(HttpContext context, ICorrelationIdFeature id)
    {
        if (id is CorrelationScope { HeaderToSet: { } name } scope)
        {
            context.Request.Headers[name] = scope.CorrelationId;
        }
    }

    /// <summary>Puts the id in a log scope (structured field <c>CorrelationId</c>) until disposed.</summary>
    public IDisposable? Scope(ICorrelationIdFeature id) => _logger.BeginScope((CorrelationScope)id);

    /// <summary>1 to MaxLength characters of A-Z a-z 0-9 and - _ . : @ (no spaces, quotes or control characters).</summary>
    internal static bool IsValid(string? id, int maxLength)
    {
        if (string.IsNullOrEmpty(id) || id.Length > maxLength)
        {
            return false;
        }
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '@'))
            {
                return false;
            }
        }
        return true;
    }

    // The trace id when a trace is active (logs and traces join); otherwise a new W3C-format random id. Not
    // Guid.NewGuid(): on Linux it reads the cryptographic generator on every call, which measured as about a third of
    // a microsecond per request (PipelineHit benchmark); a correlation id needs to be unique, not unpredictable.
    private static string Generate() =>
        (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.TraceId : ActivityTraceId.CreateRandom()).ToHexString();

    /// <summary>A log scope with one structured field, <c>CorrelationId</c>; also the request's <see cref="ICorrelationIdFeature"/>.</summary>
    private sealed class CorrelationScope(string id, string? headerToSet) : IReadOnlyList<KeyValuePair<string, object?>>, ICorrelationIdFeature
    {
        public string CorrelationId => id;

        /// <summary>The request header that must carry the id upstream (it was missing or invalid), or null.</summary>
        public string? HeaderToSet => headerToSet;

        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("CorrelationId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "CorrelationId:" + id;
    }
}
