using BenchmarkDotNet.Attributes;
using CacheProxy.Caching;
using CacheProxy.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Benchmarks;

/// <summary>The cache-hit path: header parsing, key building, and a full hit through the engine.</summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private static readonly StringValues TypicalCacheControl = new("public, max-age=3600, stale-while-revalidate=60");
    private readonly byte[] _body = new byte[1024];
    private readonly byte[] _json = System.Text.Encoding.UTF8.GetBytes(
        "[" + string.Join(",", Enumerable.Range(0, 250).Select(i => $"{{\"id\":{i},\"name\":\"item {i}\"}}")) + "]");
    private ServiceProvider _services = null!;
    private CacheEngine _engine = null!;
    private CacheKey _keys = null!;
    private Endpoint _endpoint = null!;
    private DefaultHttpContext _context = null!;
    private DefaultHttpContext _pendingContext = null!;
    private DefaultHttpContext _brContext = null!;
    private RequestDelegate _upstream = null!;
    private RequestDelegate _pipeline = null!;

    /// <summary>Whether an OpenTelemetry meter provider with the Prometheus exporter listens, as in the sample gateway.</summary>
    [Params(false, true)]
    public bool Metrics { get; set; }

    /// <summary>The memory tier's eviction policy: W-TinyLFU counts every lookup in its frequency sketch, LRU does not (issue #28's A/B).</summary>
    [Params(Configuration.EvictionPolicy.TinyLfu, Configuration.EvictionPolicy.Lru)]
    public Configuration.EvictionPolicy Eviction { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = BenchmarkHost.Services();
        var cacheProxy = services.AddCacheProxy();
        services.Configure<Configuration.CacheProxyOptions>(o => o.Eviction = Eviction);
        if (Metrics)
        {
            cacheProxy.AddPrometheus();
        }
        _services = services.BuildServiceProvider();
        if (Metrics)
        {
            _services.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>(); // start listening
        }
        _engine = _services.GetRequiredService<CacheEngine>();
        _keys = _services.GetRequiredService<CacheKey>();
        _endpoint = BenchmarkHost.ProxiedEndpoint();
        _upstream = c =>
        {
            // 1 KiB of bytes (not compressible: a plain hit), or JSON that is stored once more in br and gzip.
            var json = c.Request.Path == "/objects/json";
            c.Response.Headers.CacheControl = "public, max-age=3600";
            c.Response.Headers.ContentType = json ? "application/json" : "application/octet-stream";
            c.Response.ContentLength = json ? _json.Length : _body.Length;
            return c.Response.Body.WriteAsync(json ? _json : _body).AsTask();
        };
        _context = NewContext();
        _pendingContext = NewContext();
        _pendingContext.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new PendingStream()));
        _brContext = NewContext("/objects/json");
        _brContext.Request.Headers.AcceptEncoding = "gzip, deflate, br";
        _engine.HandleAsync(_engine.BeginAsync(_context).Result!, _upstream).GetAwaiter().GetResult(); // store the object once
        _engine.HandleAsync(_engine.BeginAsync(_brContext).Result!, _upstream).GetAwaiter().GetResult();
        // The whole UseCacheProxy() pipeline: correlation id, error shaping, management gate, cache.
        var app = new Microsoft.AspNetCore.Builder.ApplicationBuilder(_services);
        app.UseCacheProxy();
        app.Run(_upstream);
        _pipeline = app.Build();
        FullHit().GetAwaiter().GetResult();
        if (!_context.Response.Headers["Cache-Status"].ToString().Contains("hit", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("the measured request is not a cache hit: " + _context.Response.Headers["Cache-Status"]);
        }
        // The first br hit compresses the JSON for br in the background; the measured ones are br hits.
        var compressed = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(30);
        do
        {
            _brContext.Response.Headers.Clear();
            PipelineHitBr().GetAwaiter().GetResult();
        }
        while (_brContext.Response.Headers.ContentEncoding != "br" && TimeProvider.System.GetUtcNow() < compressed && Sleep());
        if (!_brContext.Response.Headers["Cache-Status"].ToString().Contains("hit", StringComparison.Ordinal)
            || _brContext.Response.Headers.ContentEncoding != "br")
        {
            throw new InvalidOperationException("the br request is not a br hit: " + _brContext.Response.Headers["Cache-Status"]);
        }

        static bool Sleep()
        {
            Thread.Sleep(10); // setup only, bounded above: the background compression is not the benchmark's to signal
            return true;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private DefaultHttpContext NewContext(string path = "/objects/1k")
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = HttpMethods.Get;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("bench.local");
        context.Request.Path = path;
        context.Request.Headers.Accept = "*/*";
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        context.SetEndpoint(_endpoint);
        return context;
    }

    [Benchmark]
    public long ParseCacheControl() => CacheControl.Parse(TypicalCacheControl).MaxAge;

    [Benchmark]
    public string? BuildKey() => _keys.Build(_context);

    /// <summary>A hit through every middleware UseCacheProxy() adds, as a request meets them after routing.</summary>
    [Benchmark]
    public Task PipelineHit() => ThroughPipeline(_context);

    /// <summary>
    /// <see cref="PipelineHit"/> whose body write does not finish at once, as Kestrel's does for a body over its
    /// 64 KiB response buffer: measures the async frames a hit adds around that write.
    /// </summary>
    [Benchmark]
    public Task PipelineHitPendingWrite() => ThroughPipeline(_pendingContext);

    /// <summary>
    /// <see cref="PipelineHit"/> of JSON asked for with a browser's Accept-Encoding: a hit of the br representation,
    /// through the URL's Vary rule on Accept-Encoding.
    /// </summary>
    [Benchmark]
    public Task PipelineHitBr() => ThroughPipeline(_brContext);

    // The response is reset as a server does between requests; the id the last run echoed is not sent again.
    private Task ThroughPipeline(DefaultHttpContext context)
    {
        context.Response.Headers.Clear();
        context.Response.StatusCode = 200;
        context.Request.Headers.Remove("X-Request-ID");
        return _pipeline(context);
    }

    [Benchmark]
    public Task FullHit()
    {
        // The response is reset (as a server does between requests); headers and body are written anew.
        _context.Response.Headers.Clear();
        _context.Response.StatusCode = 200;
        return _engine.HandleAsync(_engine.BeginAsync(_context).Result!, _upstream);
    }

    /// <summary>A response body whose writes complete later, on the thread pool.</summary>
    private sealed class PendingStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { }
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => await Task.Yield();
    }
}
