using CacheProxy.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Esi;

/// <summary>The app's whole request pipeline, routing included, for fragment requests (captured at startup, <see cref="EsiStartupFilter"/>).</summary>
internal sealed class EsiPipeline
{
    public RequestDelegate? Application { get; set; }
}

/// <summary>Captures the pipeline's first delegate: a fragment request goes through everything a client's request does.</summary>
internal sealed class EsiStartupFilter(EsiPipeline pipeline) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(rest =>
        {
            pipeline.Application = rest;
            return rest; // nothing added per request
        });
        next(app);
    };
}

/// <summary>What one assembled response may still spend, shared by its nested fragments (<see cref="EsiOptions"/>).</summary>
internal sealed class EsiBudget(int fragments, long bytes)
{
    private int _fragments = fragments;
    private long _bytes = bytes;

    public bool TakeFragment() => Interlocked.Decrement(ref _fragments) >= 0;

    public bool TakeBytes(long count) => Interlocked.Add(ref _bytes, -count) >= 0;
}

/// <summary>
/// Set on a fragment request (never from a client's header, so it cannot be forged): how deep it is, the URLs above it
/// (a loop is refused at once), and the budget it shares with its page.
/// </summary>
internal sealed class EsiFragmentFeature(int depth, string[] chain, EsiBudget budget)
{
    public int Depth { get; } = depth;

    public string[] Chain { get; } = chain;

    public EsiBudget Budget { get; } = budget;

    /// <summary>Routing chose an endpoint that is not a proxied route: the fragment was refused (<see cref="Hosting.CacheProxyMiddleware"/>).</summary>
    public bool NotProxied { get; set; }
}

/// <summary>A fragment's answer: its body when it succeeded, else why not.</summary>
internal readonly record struct EsiFragment(ReadOnlyMemory<byte> Body, string? Failure, StringValues CacheControl, StringValues Age, StringValues CacheStatus)
{
    public bool Succeeded => Failure is null;

    public static EsiFragment Failed(string reason) => new(default, reason, default, default, default);
}

/// <summary>
/// Fetches a fragment through the app's own pipeline — routing, this cache (key, Vary, freshness, collapsing, tags,
/// stale rules) and YARP — as a GET with the page request's fields (its conditionals, Range and body fields left out,
/// and identity coding asked for), bounded in time and bytes.
/// </summary>
internal sealed class EsiFragments(EsiPipeline pipeline, LastGoodOptions options, TimeProvider time)
{
    /// <summary>Request fields a fragment request does not take from its page's request.</summary>
    private static readonly HashSet<string> NotCopied = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.IfMatch, HeaderNames.IfNoneMatch, HeaderNames.IfModifiedSince, HeaderNames.IfUnmodifiedSince, HeaderNames.IfRange,
        HeaderNames.Range, HeaderNames.ContentLength, HeaderNames.ContentType, HeaderNames.ContentEncoding, HeaderNames.TransferEncoding,
        HeaderNames.Expect, HeaderNames.Connection, HeaderNames.Upgrade, HeaderNames.AcceptEncoding, HeaderNames.Host,
        HeaderNames.TE, "Keep-Alive", "HTTP2-Settings", ":authority", ":method", ":path", ":scheme", ":protocol",
    };

    public async Task<EsiFragment> FetchAsync(HttpContext page, Uri target, EsiFragmentFeature fragment, TimeSpan timeout)
    {
        var application = pipeline.Application ?? throw new InvalidOperationException("the ESI pipeline was not captured at startup");
        var lifetime = new Lifetime(page.RequestAborted, timeout, time);
        var body = new FragmentBody(fragment.Budget, lifetime);
        var context = CreateContext(page, target, fragment, body, lifetime, options.Current.Correlation.HeaderName);
        var running = application(context);
        if (!running.IsCompletedSuccessfully)
        {
            try
            {
                // Only a fragment that does not answer at once (not from the memory tier) starts its deadline's timer.
                await running.WaitAsync(lifetime.RequestAborted);
            }
            catch (Exception) when (!page.RequestAborted.IsCancellationRequested)
            {
                // Timed out, or over the byte budget (which aborts it), or failed: given up on. It may still be running,
                // so its deadline is released when it ends, and its failure observed.
                _ = running.ContinueWith(static (t, l) => { _ = t.Exception; ((Lifetime)l!).Dispose(); }, lifetime, TaskScheduler.Default);
                return EsiFragment.Failed(lifetime.TimedOut ? "timeout" : body.Overflowed ? "bytes" : "error");
            }
        }
        lifetime.Dispose();
        if (fragment.NotProxied)
        {
            return EsiFragment.Failed("not a proxied route");
        }
        if (body.Overflowed || lifetime.TimedOut)
        {
            return EsiFragment.Failed(body.Overflowed ? "bytes" : "timeout");
        }
        var response = context.Response;
        if (response.StatusCode is < 200 or > 299)
        {
            return EsiFragment.Failed($"status {response.StatusCode}");
        }
        var h = response.Headers;
        return new EsiFragment(body.Written, null, h.CacheControl, h.Age, h[Http.CacheProxyHeaderNames.CacheStatus]);
    }

    private static DefaultHttpContext CreateContext(HttpContext page, Uri target, EsiFragmentFeature fragment, FragmentBody body, Lifetime lifetime,
        string correlationHeader)
    {
        var features = new FeatureCollection(10);
        IHeaderDictionary headers = new HeaderDictionary(page.Request.Headers.Count + 2);
        foreach (var field in page.Request.Headers)
        {
            if (!NotCopied.Contains(field.Key))
            {
                headers[field.Key] = field.Value;
            }
        }
        headers.Host = target.IsDefaultPort ? target.Host : $"{target.Host}:{target.Port}";
        headers.AcceptEncoding = "identity";
        if (page.Features.Get<ICorrelationIdFeature>() is { } id)
        {
            headers[correlationHeader] = id.CorrelationId; // the page's id: one id joins the page's and its fragments' logs
        }
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Method = HttpMethods.Get,
            Scheme = page.Request.Scheme,
            Protocol = "HTTP/1.1",
            Path = Uri.UnescapeDataString(target.AbsolutePath),
            QueryString = target.Query,
            RawTarget = target.PathAndQuery,
            Headers = headers,
        });
        features.Set<IHttpResponseFeature>(new HttpResponseFeature { Headers = new HeaderDictionary(12) }); // a stored response's fields and ours
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        features.Set<IHttpRequestLifetimeFeature>(lifetime);
        features.Set<IHttpRequestBodyDetectionFeature>(NoBody.Instance);
        // The page request's services: a fragment is part of it (no scope of its own to make and dispose per fragment).
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature { RequestServices = page.RequestServices });
        if (page.Features.Get<IHttpConnectionFeature>() is { } connection)
        {
            features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
            {
                ConnectionId = connection.ConnectionId,
                LocalIpAddress = connection.LocalIpAddress,
                LocalPort = connection.LocalPort,
                RemoteIpAddress = connection.RemoteIpAddress,
                RemotePort = connection.RemotePort,
            });
        }
        features.Set(fragment);
        return new DefaultHttpContext(features);
    }

    /// <summary>Collects the fragment's body within the page's byte budget; past it the fragment request is aborted.</summary>
    private sealed class FragmentBody(EsiBudget budget, Lifetime lifetime) : Stream
    {
        private byte[] _buffer = [];
        private int _length;

        public bool Overflowed { get; private set; }

        public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Overflowed || buffer.IsEmpty)
            {
                return;
            }
            if (!budget.TakeBytes(buffer.Length))
            {
                Overflowed = true;
                lifetime.Abort();
                return;
            }
            if (_length + buffer.Length > _buffer.Length)
            {
                // A stored body comes in one write: sized exactly; a streamed one grows by doubling.
                Array.Resize(ref _buffer, _length == 0 ? buffer.Length : Math.Max(_length + buffer.Length, _buffer.Length * 2));
            }
            buffer.CopyTo(_buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return default;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// The fragment request's cancellation: the page's, and the fragment's deadline — whose timer starts only when the
    /// request is first asked for its token (a memory-tier hit never is).
    /// </summary>
    private sealed class Lifetime(CancellationToken page, TimeSpan timeout, TimeProvider time) : IHttpRequestLifetimeFeature, IDisposable
    {
        private readonly Lock _gate = new();
        private CancellationTokenSource? _deadline;
        private CancellationTokenSource? _linked;
        private CancellationToken _token;
        private bool _disposed;

        public CancellationToken RequestAborted
        {
            get
            {
                lock (_gate)
                {
                    if (_linked is null && !_disposed)
                    {
                        _deadline = new CancellationTokenSource(timeout, time);
                        _linked = CancellationTokenSource.CreateLinkedTokenSource(_deadline.Token, page);
                        _token = _linked.Token;
                    }
                    return _disposed && _linked is null ? page : _token;
                }
            }
            set => throw new NotSupportedException();
        }

        public bool TimedOut
        {
            get
            {
                lock (_gate)
                {
                    return _deadline is { IsCancellationRequested: true };
                }
            }
        }

        public void Abort()
        {
            _ = RequestAborted;
            lock (_gate)
            {
                if (!_disposed)
                {
                    _linked?.Cancel();
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _linked?.Dispose();
                _deadline?.Dispose();
            }
        }
    }

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }
}
