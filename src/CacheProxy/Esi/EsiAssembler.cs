using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Esi;

/// <summary>
/// Answers with a page assembled from its parsed template (<see cref="EsiTemplate"/>, parsed once per stored entry)
/// and its fragments, fetched in parallel through the app's pipeline (<see cref="EsiFragments"/>) as soon as the page
/// is served; their bytes go out in the page's order, each literal chunk as soon as what precedes it has. The head
/// tells the truth about the assembled bytes: no validators, Content-Length only when every fragment is in before the
/// head goes out, and a Cache-Control no looser than the loosest part allows (<c>no-store</c> when a fragment is still
/// on its way). docs/esi.md.
/// </summary>
internal sealed class EsiAssembler(LastGoodOptions options, EsiFragments fragments, CacheProxyMetrics metrics, ErrorShaping errors, ILoggerFactory loggers,
    Compressor compressor)
{
    private readonly LastGoodOptions _options = options;
    private readonly EsiFragments _fragments = fragments;
    private readonly CacheProxyMetrics _metrics = metrics;

    /// <summary>Fields of the stored page that do not describe the assembled bytes, or that the assembly sets itself.</summary>
    private static readonly HashSet<string> NotCopied = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.Age, HeaderNames.ContentLength, HeaderNames.ETag, HeaderNames.LastModified, HeaderNames.Expires,
        HeaderNames.CacheControl, HeaderNames.AcceptRanges, HeaderNames.ContentRange, CacheProxyHeaderNames.SurrogateControl,
        CacheProxyHeaderNames.CdnCacheControl, HeaderNames.ContentMD5, "Digest", "Content-Digest", "Repr-Digest",
    };

    /// <summary>The response field that names each fragment and what it came to, with <see cref="EsiOptions.FragmentStatus"/>.</summary>
    internal const string FragmentStatusHeader = "CacheProxy-Fragment";

    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>
    /// A page held back from the upstream as a transient entry to assemble (one that is not stored), or null when it
    /// did not arrive whole: over <c>MaxObjectSize</c>, cut short, or the client left.
    /// </summary>
    public static CacheEntry? Held(HttpContext http, Caching.CaptureBodyFeature capture, int status, IReadOnlyList<KeyValuePair<string, StringValues>> fields,
        DateTimeOffset requestTime, DateTimeOffset responseTime) =>
        capture.Copy.Buffering && !http.RequestAborted.IsCancellationRequested && http.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>() is null
            ? new CacheEntry { StatusCode = status, Headers = fields, Body = capture.Copy.Take(), RequestTime = requestTime, ResponseTime = responseTime }
            : null;

    /// <summary>What answers a page that could not be held whole (<see cref="Held"/>): a 502 for the error shaping to write.</summary>
    public static CacheProxyErrorFeature NotHeld { get; } = new(CacheProxyError.UpstreamProtocol, ErrorCategory.UpstreamProtocol, null);

    /// <summary>Whether the route processes ESI: advertised upstream in Surrogate-Capability.</summary>
    public bool Enabled(string routeId) => Enabled(_options.Current, routeId);

    /// <summary>Whether the route processes ESI under <paramref name="options"/>.</summary>
    public static bool Enabled(CacheProxyOptions options, string routeId) =>
        options.Routes.TryGetValue(routeId, out var route) && route.Esi.Enabled is { } enabled ? enabled : options.Esi.Enabled;

    /// <summary>Whether a stored response of the route is a page to assemble: negotiated, of a configured type, identity-coded.</summary>
    public bool Processes(string routeId, StoredPolicy policy, CacheEntry entry) =>
        policy.EsiNegotiated && Enabled(routeId) && IsProcessedType(entry.GetHeader(HeaderNames.ContentType))
        && StringValues.IsNullOrEmpty(entry.GetHeader(HeaderNames.ContentEncoding));

    /// <summary>Whether an upstream response now arriving is a page to assemble.</summary>
    public bool Processes(string routeId, IHeaderDictionary headers)
    {
        var current = _options.Current;
        return current.Targeted.SurrogateTarget is { } target && Enabled(routeId)
            && CacheControl.Parse(headers[CacheProxyHeaderNames.SurrogateControl], target).EsiContent && IsProcessedType(headers.ContentType)
            && StringValues.IsNullOrEmpty(headers.ContentEncoding); // a coded page is not parsed: it passes as it came
    }

    private bool IsProcessedType(StringValues contentType)
    {
        var value = contentType.ToString();
        var semicolon = value.IndexOf(';');
        var media = (semicolon < 0 ? value : value[..semicolon]).Trim();
        foreach (var type in _options.Current.Esi.ContentTypes)
        {
            if (media.Equals(type, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Assembles <paramref name="page"/> for the request; <paramref name="status"/> is its Cache-Status member (null: the
    /// caller sets Cache-Status as the response starts).
    /// </summary>
    public async ValueTask WriteAsync(HttpContext http, string routeId, CacheEntry page, StoredPolicy policy, TimeSpan age, string? status)
    {
        var current = _options.Current;
        var route = current.Routes.TryGetValue(routeId, out var r) ? r.Esi : null;
        var template = policy.EsiTemplate ??= await ParseAsync(page, routeId, http);
        var outer = http.Features.Get<EsiFragmentFeature>();
        var root = outer is null ? PageUrl(http.Request) : null; // a page a client asked for heads its own chain of URLs
        var assembly = new Assembly(this, http, routeId, route?.Cookies ?? [], route?.AllowedHosts ?? [], outer?.Depth ?? 0,
            outer?.Chain ?? [root!.AbsoluteUri], outer?.Budget ?? new EsiBudget(current.Esi.MaxFragments, current.Esi.MaxAssembledBytes),
            current.Esi.FragmentTimeout, route?.OnFragmentError ?? current.Esi.OnFragmentError) { Page = root };
        assembly.Flatten(template.Nodes);
        var pieces = assembly.Pieces;

        if (current.Esi.FragmentStatus)
        {
            // Each fragment's status goes in the head: it waits for them all (no streaming while this is on).
            foreach (var piece in pieces)
            {
                if (piece.Fragment is { } pending)
                {
                    await pending;
                }
            }
        }
        var done = pieces.TrueForAll(p => p.Fragment is null || p.Fragment.IsCompleted);
        if (done && assembly.Mode == EsiFragmentFailure.Fail && pieces.Find(p => p.Fragment is { Result.Succeeded: false }) is { Fragment: { } failed })
        {
            var failure = failed.Result;
            await errors.WriteProblemAsync(http, new CacheProxyErrorFeature(CacheProxyError.FragmentFailed, ErrorCategory.UpstreamProtocol, null),
                $"The fragment {failure.Src} could not be included: {failure.Failure}.");
            return;
        }

        var response = http.Response;
        response.StatusCode = page.StatusCode;
        var headers = response.Headers;
        foreach (var (name, value) in page.Headers)
        {
            if (!NotCopied.Contains(name))
            {
                headers[name] = value;
            }
        }
        headers.CacheControl = done ? Downstream(page, age, pieces) : "no-store";
        AddVary(headers, template.Reads);
        if (current.Esi.FragmentStatus)
        {
            foreach (var piece in pieces)
            {
                if (piece.Fragment is { Result: var included })
                {
                    headers.Append(FragmentStatusHeader, $"{included.Src}; {included.Status}");
                }
            }
        }
        if (status is not null)
        {
            headers[CacheProxyHeaderNames.CacheStatus] = CacheStatus.Value(current.CacheStatusName, status);
        }
        // Coded per request, fast (the parts vary per request, so there is nothing to code once): br or gzip as the
        // client prefers, when the route compresses this type; never for a client that asked for identity.
        var coding = AcceptEncoding.Class(http.Request.Headers.AcceptEncoding);
        var settings = compressor.For(routeId);
        if (coding != AcceptEncoding.Identity && !(settings.Enabled && Compressor.IsCompressible(page.GetHeader(HeaderNames.ContentType).ToString(), settings.Types)))
        {
            coding = AcceptEncoding.Identity;
        }
        if (coding != AcceptEncoding.Identity)
        {
            headers.ContentEncoding = coding;
        }
        headers.Append(HeaderNames.Vary, HeaderNames.AcceptEncoding);
        if (done && coding == AcceptEncoding.Identity)
        {
            response.ContentLength = AssembledLength(pieces);
        }
        if (HttpMethods.IsHead(http.Request.Method))
        {
            return;
        }
        _metrics.Served(routeId, LiteralLength(pieces)); // the page's own bytes: each fragment counts its own in its request
        if (done && coding == AcceptEncoding.Brotli)
        {
            await WriteBrotliAsync(response, pieces); // every part is in: coded in one call, with its length
            return;
        }
        var coded = coding switch
        {
            AcceptEncoding.Brotli => new BrotliStream(response.Body, CompressionLevel.Fastest, leaveOpen: true),
            AcceptEncoding.Gzip => new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true),
            _ => (Stream?)null,
        };
        var complete = false;
        try
        {
            complete = await WritePiecesAsync(http, coded ?? response.Body, pieces, assembly.Mode);
        }
        finally
        {
            if (coded is not null)
            {
                await FinishAsync(coded, complete);
            }
        }
    }

    /// <summary>
    /// The whole page in br, coded in one call (quality 1, a 64 KiB window: half the cost of a BrotliStream for a page
    /// of a few KiB), with its Content-Length.
    /// </summary>
    private static async Task WriteBrotliAsync(HttpResponse response, List<Piece> pieces)
    {
        var length = (int)AssembledLength(pieces);
        var source = ArrayPool<byte>.Shared.Rent(length);
        var target = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(length));
        try
        {
            var at = 0;
            foreach (var piece in pieces)
            {
                var bytes = piece.Fragment is null ? piece.Literal : piece.Fragment.Result.Body;
                bytes.Span.CopyTo(source.AsSpan(at));
                at += bytes.Length;
            }
            if (!BrotliEncoder.TryCompress(source.AsSpan(0, length), target, out var written, quality: 1, window: 16))
            {
                throw new InvalidOperationException("Brotli could not code the assembled page"); // the target is sized for the worst case
            }
            response.ContentLength = written;
            await response.Body.WriteAsync(target.AsMemory(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(source);
            ArrayPool<byte>.Shared.Return(target);
        }
    }

    /// <summary>The assembled page's length (identity), once every fragment is in.</summary>
    private static long AssembledLength(List<Piece> pieces)
    {
        long length = 0;
        foreach (var piece in pieces)
        {
            length += piece.Fragment is null ? piece.Literal.Length : piece.Fragment.Result.Body.Length;
        }
        return length;
    }

    /// <summary>The bytes of the page itself, its fragments left out.</summary>
    private static long LiteralLength(List<Piece> pieces)
    {
        long length = 0;
        foreach (var piece in pieces)
        {
            length += piece.Literal.Length; // a fragment's piece has none
        }
        return length;
    }

    /// <summary>Writes the pieces in order, each literal chunk as soon as what precedes it has gone; false when the page failed mid-way.</summary>
    private static async Task<bool> WritePiecesAsync(HttpContext http, Stream body, List<Piece> pieces, EsiFragmentFailure mode)
    {
        foreach (var piece in pieces)
        {
            if (piece.Fragment is null)
            {
                await body.WriteAsync(piece.Literal);
                continue;
            }
            if (!piece.Fragment.IsCompleted)
            {
                await body.FlushAsync(); // what precedes a fragment still on its way leaves now
            }
            var fragment = await piece.Fragment;
            if (fragment.Succeeded)
            {
                await body.WriteAsync(fragment.Body);
            }
            else if (mode == EsiFragmentFailure.Fail)
            {
                // Too late for a 502: the client must see an incomplete response, never one that looks whole.
                http.Abort();
                return false;
            }
        }
        return true;
    }

    /// <summary>Ends the coded body: its last bytes written when the page is whole; only released when it was cut off.</summary>
    private static async ValueTask FinishAsync(Stream coded, bool complete)
    {
        if (complete)
        {
            await coded.DisposeAsync();
            return;
        }
        try
        {
            coded.Dispose(); // the connection is closed: what the coder still holds goes nowhere
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    /// <summary>The page's template; a body the store streams (a large one in Redis) is read whole first, once.</summary>
    private async ValueTask<EsiTemplate> ParseAsync(CacheEntry page, string routeId, HttpContext http)
    {
        var body = page.Body;
        if (page.StreamedBody is { } streamed)
        {
            var whole = new MemoryStream((int)Math.Min(streamed.Length, int.MaxValue));
            await streamed.CopyToAsync(whole, 0, streamed.Length, http.RequestAborted); // an IOException fails the request: nothing was sent
            body = whole.GetBuffer().AsMemory(0, (int)whole.Length);
        }
        var template = EsiTemplate.Parse(body);
        if (template.Errors.Count > 0)
        {
            _metrics.EsiMalformed.Add(1);
            Log.EsiTemplateMalformed(_logger, new KeyHash(PageUrl(http.Request).AbsoluteUri), routeId, string.Join("; ", template.Errors));
        }
        return template;
    }

    private static Uri PageUrl(HttpRequest request) => new($"{request.Scheme}://{request.Host.Value}{request.PathBase}{request.Path}{request.QueryString}");

    /// <summary>The assembled response's Cache-Control, from the page and the fragments that are in.</summary>
    private static string Downstream(CacheEntry page, TimeSpan pageAge, List<Piece> pieces)
    {
        var parts = new List<(StringValues CacheControl, long Age)> { (page.GetHeader(HeaderNames.CacheControl), (long)pageAge.TotalSeconds) };
        foreach (var piece in pieces)
        {
            if (piece.Fragment is { Result: { Succeeded: true } fragment })
            {
                parts.Add((fragment.CacheControl, long.TryParse(fragment.Age, NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 0));
            }
        }
        return Strictest(parts);
    }

    /// <summary>
    /// The strictest of the parts' Cache-Control (each with its Age): no-store if any says it, else private and
    /// no-cache if any says them, and max-age the least that remains of any part's (a part without one counts as 0).
    /// </summary>
    internal static string Strictest(IEnumerable<(StringValues CacheControl, long Age)> parts)
    {
        var isPrivate = false;
        var noCache = false;
        var remaining = long.MaxValue;
        foreach (var (field, age) in parts)
        {
            var cc = CacheControl.Parse(field);
            if (cc.NoStore)
            {
                return "no-store";
            }
            isPrivate |= cc.Private;
            noCache |= cc.NoCache;
            var lifetime = cc.MaxAge >= 0 ? cc.MaxAge : 0; // no max-age: nothing a downstream cache may count on
            remaining = Math.Min(remaining, Math.Max(0, lifetime - age));
        }
        var value = new StringBuilder(isPrivate ? "private, " : string.Empty);
        if (noCache)
        {
            value.Append("no-cache, ");
        }
        return value.Append("max-age=").Append(remaining.ToString(CultureInfo.InvariantCulture)).ToString();
    }

    private static void AddVary(IHeaderDictionary headers, EsiReads reads)
    {
        foreach (var (flag, name) in (ReadOnlySpan<(EsiReads, string)>)[(EsiReads.Cookie, HeaderNames.Cookie), (EsiReads.Host, HeaderNames.Host),
            (EsiReads.AcceptLanguage, HeaderNames.AcceptLanguage), (EsiReads.Referer, HeaderNames.Referer), (EsiReads.UserAgent, HeaderNames.UserAgent)])
        {
            if ((reads & flag) != 0)
            {
                headers.Append(HeaderNames.Vary, name);
            }
        }
    }

    /// <summary>A literal chunk, or a fragment being fetched.</summary>
    private readonly record struct Piece(ReadOnlyMemory<byte> Literal, Task<Included>? Fragment);

    /// <summary>What an include came to: its bytes (empty when it continued past a failure), or the failure that reaches the page.</summary>
    /// <param name="Body">The fragment's bytes (none when it failed or was left out).</param>
    /// <param name="Src">The src as evaluated.</param>
    /// <param name="Failure">Why it failed, when the failure reaches the page.</param>
    /// <param name="CacheControl">The fragment's Cache-Control, for the assembled one.</param>
    /// <param name="Age">The fragment's Age.</param>
    /// <param name="Status">What the include came to, for <see cref="EsiOptions.FragmentStatus"/>: the fragment's Cache-Status, or the outcome of its failure.</param>
    private readonly record struct Included(ReadOnlyMemory<byte> Body, string Src, string? Failure, StringValues CacheControl, StringValues Age, string Status)
    {
        public bool Succeeded => Failure is null;
    }

    /// <summary>One assembly: the template's instructions evaluated for the request, its includes started.</summary>
    private sealed class Assembly(EsiAssembler owner, HttpContext http, string routeId, string[] cookies, string[] allowedHosts, int depth,
        string[] chain, EsiBudget budget, TimeSpan timeout, EsiFragmentFailure mode)
    {
        public List<Piece> Pieces { get; } = [];

        public EsiFragmentFailure Mode => mode;

        public void Flatten(EsiNode[] nodes)
        {
            var request = http.Request;
            foreach (var node in nodes)
            {
                switch (node)
                {
                    case EsiLiteral literal:
                        Pieces.Add(new Piece(literal.Bytes, null));
                        break;
                    case EsiVarsText text:
                        Pieces.Add(new Piece(Encoding.UTF8.GetBytes(text.Text.Evaluate(request, cookies, System.Net.WebUtility.HtmlEncode)), null));
                        break;
                    case EsiBlock block:
                        Flatten(block.Nodes);
                        break;
                    case EsiChoose choose:
                        var chosen = choose.Otherwise;
                        foreach (var (test, body) in choose.Whens)
                        {
                            if (test.Holds(request, cookies))
                            {
                                chosen = body;
                                break;
                            }
                        }
                        if (chosen is not null)
                        {
                            Flatten(chosen);
                        }
                        break;
                    case EsiInclude include:
                        Pieces.Add(new Piece(default, IncludeAsync(include)));
                        break;
                }
            }
        }

        private async Task<Included> IncludeAsync(EsiInclude include)
        {
            var request = http.Request;
            var src = include.Src.Evaluate(request, cookies, Uri.EscapeDataString);
            var fragment = await FetchAsync(include.Src, src);
            var outcome = "ok";
            if (!fragment.Succeeded && include.Alt is not null)
            {
                var alt = include.Alt.Evaluate(request, cookies, Uri.EscapeDataString);
                owner.Failed(src, routeId, fragment.Failure!, "alt " + alt);
                fragment = await FetchAsync(include.Alt, alt);
                outcome = "alt";
            }
            if (!fragment.Succeeded)
            {
                outcome = include.ContinueOnError ? "continued" : mode == EsiFragmentFailure.Empty ? "left_out" : "failed";
                if (fragment.Failure != "count" || Interlocked.Exchange(ref _countLogged, 1) == 0)
                {
                    owner.Failed(src, routeId, fragment.Failure!, outcome); // past MaxFragments once per page, not once per include
                }
                owner._metrics.EsiFragments.Add(1, new("outcome", outcome), new("reason", Reason(fragment.Failure!)));
                return include.ContinueOnError || mode == EsiFragmentFailure.Empty
                    ? new Included(default, src, null, "no-store", default, $"{outcome}; reason={fragment.Failure}") // what was left out is not known to be cacheable
                    : new Included(default, src, fragment.Failure, default, default, $"{outcome}; reason={fragment.Failure}");
            }
            owner._metrics.EsiFragments.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            return new Included(fragment.Body, src, null, fragment.CacheControl, fragment.Age,
                outcome == "alt" ? $"alt; {fragment.CacheStatus}" : fragment.CacheStatus.ToString());
        }

        /// <summary>The metric's reason: a token for each failure (the log has its words).</summary>
        private static string Reason(string failure) => failure switch
        {
            _ when failure.StartsWith("status ", StringComparison.Ordinal) => "status",
            "not a proxied route" => "not_proxied",
            "not an http URL" => "not_http",
            _ => failure,
        };

        /// <summary>The page's URL, which relative srcs resolve against: set for a page a client asked for, else made when first needed.</summary>
        public Uri? Page { get; set; }
        private int _countLogged;

        private Task<EsiFragment> FetchAsync(EsiText text, string src)
        {
            if (Resolve(text, src) is not { } target)
            {
                return Task.FromResult(EsiFragment.Failed("not an http URL"));
            }
            if (!target.SameAuthority
                && Array.FindIndex(allowedHosts, h => h.Equals(target.Uri.Host, StringComparison.OrdinalIgnoreCase) || h.Equals(target.Uri.Authority, StringComparison.OrdinalIgnoreCase)) < 0)
            {
                return Task.FromResult(EsiFragment.Failed("host"));
            }
            var url = target.Url;
            if (Array.IndexOf(chain, url) >= 0)
            {
                return Task.FromResult(EsiFragment.Failed("loop"));
            }
            if (depth + 1 > owner._options.Current.Esi.MaxDepth)
            {
                return Task.FromResult(EsiFragment.Failed("depth"));
            }
            if (!budget.TakeFragment())
            {
                return Task.FromResult(EsiFragment.Failed("count"));
            }
            return owner._fragments.FetchAsync(http, target.Uri, new EsiFragmentFeature(depth + 1, [.. chain, url], budget), timeout);
        }

        /// <summary>
        /// <paramref name="src"/> against the page's URL. A constant src keeps what it resolved to for the last page URL
        /// (scheme, host, path) on its node: a hit of the same page resolves nothing again.
        /// </summary>
        private ResolvedSrc? Resolve(EsiText text, string src)
        {
            var request = http.Request;
            if (text.Constant is not null && text.Resolved is ResolvedSrc last && last.Matches(request))
            {
                return last;
            }
            var page = Page ??= PageUrl(request);
            if (!Uri.TryCreate(page, src, out var target) || target.Scheme is not ("http" or "https"))
            {
                return null;
            }
            var resolved = new ResolvedSrc(request.Scheme, request.Host.Value, request.PathBase.Value, request.Path.Value, target, target.AbsoluteUri,
                target.Authority.Equals(page.Authority, StringComparison.OrdinalIgnoreCase));
            if (text.Constant is not null)
            {
                text.Resolved = resolved;
            }
            return resolved;
        }
    }

    private void Failed(string src, string routeId, string reason, string outcome) => Log.EsiFragmentFailed(_logger, src, routeId, reason, outcome);

    /// <summary>A src resolved against a page's URL (its scheme, host and path).</summary>
    private sealed record ResolvedSrc(string Scheme, string? Host, string? PathBase, string? Path, Uri Uri, string Url, bool SameAuthority)
    {
        public bool Matches(HttpRequest request) => string.Equals(Scheme, request.Scheme, StringComparison.Ordinal)
            && string.Equals(Host, request.Host.Value, StringComparison.Ordinal) && string.Equals(PathBase, request.PathBase.Value, StringComparison.Ordinal)
            && string.Equals(Path, request.Path.Value, StringComparison.Ordinal);
    }
}
