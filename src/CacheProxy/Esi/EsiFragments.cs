using System.Buffers;
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
internal readonly record struct EsiFragment(byte[]? Body, string? Failure, StringValues CacheControl, StringValues Age, StringValues CacheStatus)
{
    public static EsiFragment Failed(string reason) => new(null, reason, default, default, default);
}

/// <summary>
/// Fetches a fragment through the app's own pipeline — routing, this cache (key, Vary, freshness, collapsing, tags,
/// stale rules) and YARP — as a GET with the page request's fields (its conditionals, Range and body fields left out,
/// and identity coding asked for), bounded in time and bytes.
/// </summary>
internal sealed class EsiFragments(EsiPipeline pipeline, IServiceScopeFactory scopes, TimeProvider time)
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
        var deadline = new CancellationTokenSource(timeout, time);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, page.RequestAborted);
        var body = new FragmentBody(fragment.Budget, linked);
        var context = CreateContext(page, target, fragment, body, linked);
        var services = new RequestServicesFeature(context, scopes);
        context.Features.Set<IServiceProvidersFeature>(services);
        var running = application(context);
        var abandoned = false;
        try
        {
            await running.WaitAsync(linked.Token);
        }
        catch (Exception) when (!page.RequestAborted.IsCancellationRequested)
        {
            // Timed out, or over the byte budget (which aborts it), or failed: given up on. It may still be running,
            // so what it uses is released when it ends, and its failure observed.
            abandoned = true;
            _ = running.ContinueWith(t => { _ = t.Exception; return Release(deadline, linked, services); }, TaskScheduler.Default);
            return EsiFragment.Failed(deadline.IsCancellationRequested ? "timeout" : body.Overflowed ? "bytes" : "error");
        }
        finally
        {
            if (!abandoned)
            {
                await Release(deadline, linked, services);
            }
        }
        if (fragment.NotProxied)
        {
            return EsiFragment.Failed("not a proxied route");
        }
        if (body.Overflowed || deadline.IsCancellationRequested)
        {
            return EsiFragment.Failed(body.Overflowed ? "bytes" : "timeout");
        }
        var response = context.Response;
        if (response.StatusCode is < 200 or > 299)
        {
            return EsiFragment.Failed($"status {response.StatusCode}");
        }
        var h = response.Headers;
        return new EsiFragment(body.ToArray(), null, h.CacheControl, h.Age, h[Http.CacheProxyHeaderNames.CacheStatus]);
    }

    private static async Task Release(CancellationTokenSource deadline, CancellationTokenSource linked, RequestServicesFeature services)
    {
        await services.DisposeAsync();
        linked.Dispose();
        deadline.Dispose();
    }

    private static DefaultHttpContext CreateContext(HttpContext page, Uri target, EsiFragmentFeature fragment, FragmentBody body, CancellationTokenSource aborted)
    {
        var features = new FeatureCollection();
        IHeaderDictionary headers = new HeaderDictionary();
        foreach (var field in page.Request.Headers)
        {
            if (!NotCopied.Contains(field.Key))
            {
                headers[field.Key] = field.Value;
            }
        }
        headers.Host = target.IsDefaultPort ? target.Host : $"{target.Host}:{target.Port}";
        headers.AcceptEncoding = "identity";
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
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        features.Set<IHttpRequestLifetimeFeature>(new Lifetime(aborted, aborted.Token));
        features.Set<IHttpRequestBodyDetectionFeature>(NoBody.Instance);
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
    private sealed class FragmentBody(EsiBudget budget, CancellationTokenSource abort) : Stream
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();

        public bool Overflowed { get; private set; }

        public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Overflowed)
            {
                return;
            }
            if (!budget.TakeBytes(buffer.Length))
            {
                Overflowed = true;
                abort.Cancel();
                return;
            }
            _buffer.Write(buffer);
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

        public override long Length => _buffer.WrittenCount;

        public override long Position { get => _buffer.WrittenCount; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class Lifetime(CancellationTokenSource source, CancellationToken token) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get => token; set => throw new NotSupportedException(); }

        public void Abort() => source.Cancel(); // disposed only once the request has ended
    }

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }
}
