using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>
/// What is done with an upstream response, decided once by <see cref="FetchDecider"/> before its first byte reaches
/// the client, and carried out by its owner after the body has arrived (<see cref="UpstreamFetch"/> dispatches).
/// </summary>
internal abstract record FetchDecision(CaptureMode Mode)
{
    /// <summary>A 304 to our validation: <see cref="Revalidation"/> freshens the stored response with these fields and serves it.</summary>
    public sealed record Merge304(KeyValuePair<string, StringValues>[] Fields) : FetchDecision(CaptureMode.Swallow);

    /// <summary>The upstream failed and stale serving is allowed: <see cref="StoredResponses"/> serves the stored response.</summary>
    public sealed record ServeStale : FetchDecision
    {
        public static readonly ServeStale Instance = new();

        private ServeStale()
            : base(CaptureMode.Swallow)
        {
        }
    }

    /// <summary>Passed on to the client and kept: <see cref="ResponseStorer"/> stores the body (and its compressed forms).</summary>
    public sealed record Store(StorePlan Plan) : FetchDecision(CaptureMode.PassThrough);

    /// <summary>
    /// Passed on to the client, not kept, for <paramref name="Reason"/> (event 1003, and <c>GET /inspect</c>);
    /// <paramref name="Marked"/>: the reason is the response's own and its key is now hit-for-pass
    /// (<see cref="HitForPass"/>), so <see cref="ResponseStorer"/> removes what the lookup found stored for it.
    /// </summary>
    public sealed record PassOn(string Reason, bool Marked) : FetchDecision(CaptureMode.PassThrough);

    /// <summary>The rest of a stored part, held back: <see cref="RangeCompletion"/> joins it to the part and answers the whole.</summary>
    public sealed record CompletePart(StorePlan Plan) : FetchDecision(CaptureMode.Hold);

    /// <summary>
    /// An ESI page, held back: stored by <see cref="ResponseStorer"/> when <paramref name="Plan"/> is set, and answered
    /// assembled (<see cref="Esi.EsiAssembler"/>) from <paramref name="Fields"/> and the held body.
    /// </summary>
    public sealed record Assemble(StorePlan? Plan, List<KeyValuePair<string, StringValues>> Fields) : FetchDecision(CaptureMode.Hold);

    /// <summary>
    /// A GraphQL query's response, held back: its body decides (errors, cache-control hints, entity tags), then
    /// <see cref="FetchDecider.DecideInspectedAsync"/> turns it into an <see cref="Assemble"/> of the held response.
    /// </summary>
    public sealed record Inspect : FetchDecision
    {
        public static readonly Inspect Instance = new();

        private Inspect()
            : base(CaptureMode.Hold)
        {
        }
    }

    /// <summary>Not the rest of the stored part after all: nothing goes out, and <see cref="RangeCompletion"/> asks again as the client did.</summary>
    public sealed record AskAgain : FetchDecision
    {
        public static readonly AskAgain Instance = new();

        private AskAgain()
            : base(CaptureMode.Swallow)
        {
        }
    }
}

/// <summary>How a response accepted for storing is stored.</summary>
/// <param name="Headers">The fields to store (hop-by-hop, private="…" and the like left out).</param>
/// <param name="VaryNames">The response's Vary field names (Accept-Encoding added when the response is keyed on it), or null.</param>
/// <param name="Tags">The tags it is stored with, bounded.</param>
/// <param name="Compress">It is stored compressed too, one representation per Accept-Encoding class (<see cref="Compressor"/>).</param>
/// <param name="Part">The part of the representation a 206 carries.</param>
/// <param name="FreshnessOverride">A policy's freshness lifetime (<see cref="CacheContext.FreshnessLifetime"/>).</param>
internal sealed record StorePlan(List<KeyValuePair<string, StringValues>> Headers, IReadOnlyList<string>? VaryNames, IReadOnlyList<string> Tags,
    bool Compress, StoredPart? Part, TimeSpan? FreshnessOverride);

/// <summary>What the upstream answered, read once at the response's start.</summary>
/// <param name="Status">Its status (502 or the like when YARP answered for an upstream it could not reach).</param>
/// <param name="Time">When its head arrived (RFC 9111 §4.2.3 response_time).</param>
/// <param name="Unreachable">No response came at all.</param>
internal readonly record struct UpstreamResponse(int Status, DateTimeOffset Time, bool Unreachable)
{
    /// <summary>A server error or no answer: what stale-if-error covers.</summary>
    public bool Failed => Unreachable || Status is 500 or 502 or 503 or 504;
}
