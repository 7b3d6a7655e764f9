using BenchmarkDotNet.Attributes;
using CacheProxy.Esi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Benchmarks;

/// <summary>
/// An assembled ESI hit (issue #26): a page of 10 fragments, every part in the memory tier, through the whole
/// UseCacheProxy() pipeline, against a plain hit of the same bytes. Fragments go through the same pipeline (standing in
/// for the app's, whose routing only sets the endpoint here).
/// </summary>
[MemoryDiagnoser]
public class EsiBenchmarks
{
    private const int Fragments = 10;
    private ServiceProvider _services = null!;
    private Endpoint _endpoint = null!;
    private RequestDelegate _pipeline = null!;
    private DefaultHttpContext _page = null!;
    private DefaultHttpContext _plain = null!;
    private string _plainBody = null!;
    private string _pageBody = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = BenchmarkHost.Services();
        services.AddCacheProxy(o => o.Esi.Enabled = true);
        _services = services.BuildServiceProvider();
        _endpoint = BenchmarkHost.ProxiedEndpoint();
        var head = "<html><body>" + new string('h', 900);
        var fragment = "<p>" + new string('f', 192) + "</p>";
        _pageBody = head + string.Concat(Enumerable.Range(0, Fragments).Select(i => $"<esi:include src=\"/frag/{i}\"/>")) + "</body></html>";
        _plainBody = head + string.Concat(Enumerable.Repeat(fragment, Fragments)) + "</body></html>";
        RequestDelegate upstream = c =>
        {
            var path = c.Request.Path.Value!;
            var body = path == "/page" ? _pageBody : path == "/plain" ? _plainBody : fragment;
            c.Response.Headers.CacheControl = "public, max-age=3600";
            c.Response.ContentType = "text/html";
            if (path == "/page")
            {
                c.Response.Headers["Surrogate-Control"] = "content=\"ESI/1.0\"";
            }
            return c.Response.WriteAsync(body);
        };
        var app = new ApplicationBuilder(_services);
        app.UseCacheProxy();
        app.Run(upstream);
        var pipeline = app.Build();
        _pipeline = pipeline;
        _services.GetRequiredService<EsiPipeline>().Application = c =>
        {
            c.SetEndpoint(_endpoint); // what routing does for a fragment request
            return pipeline(c);
        };
        _page = NewContext("/page");
        _plain = NewContext("/plain");
        for (var i = 0; i < 2; i++)
        {
            Hit(_page).GetAwaiter().GetResult(); // the page and its fragments stored, then served
            Hit(_plain).GetAwaiter().GetResult();
        }
        BenchmarkHost.EnsureHit(_page, _plainBody.Length); // the measured page is an assembled hit
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private DefaultHttpContext NewContext(string path) => BenchmarkHost.Routed(_services, _endpoint, HttpMethods.Get, path);

    /// <summary>A page of 10 fragments, every part a memory-tier hit.</summary>
    [Benchmark]
    public Task AssembledHit() => Hit(_page);

    /// <summary>A plain hit of the bytes the page assembles to.</summary>
    [Benchmark(Baseline = true)]
    public Task PlainHit() => Hit(_plain);

    private Task Hit(DefaultHttpContext context) => BenchmarkHost.ServeAsync(_pipeline, context);
}
