using CacheProxy.Caching;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Tests.Caching;

/// <summary>
/// The engine's fresh-hit path (no async frames, lookup span or log scope) answers exactly the requests a plain
/// fresh hit answers, and hands every other request to the full path.
/// </summary>
public sealed class FreshHitPathTests
{
    private static async Task<ProxyFixture> StartWithStoredAsync(string cacheControl = "max-age=60", string? vary = null)
    {
        var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = cacheControl;
            if (vary is not null)
            {
                c.Response.Headers.Vary = vary;
            }
            c.Response.Headers.ETag = "\"v1\"";
            return c.Response.WriteAsync("stored body");
        };
        Assert.Contains("stored", (await proxy.GetAsync("/f", ("Accept-Language", "en"))).CacheStatus());
        return proxy;
    }

    private static (DefaultHttpContext Context, MemoryStream Body) Request(ProxyFixture proxy, string method = "GET", string path = "/f",
        params (string Name, string Value)[] headers)
    {
        var route = proxy.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Single(e => e.Metadata.GetMetadata<RouteModel>() is not null);
        var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = proxy.Services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost");
        context.Request.Path = path;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        context.SetEndpoint(route);
        return (context, body);
    }

    private static Task? Serve(ProxyFixture proxy, HttpContext context)
    {
        var engine = proxy.Services.GetRequiredService<CacheEngine>();
        var begun = engine.BeginAsync(context);
        Assert.True(begun.IsCompletedSuccessfully); // no policy of the app's awaits here
        return begun.Result is { } cache ? engine.TryServeFreshHit(cache, _ => throw new InvalidOperationException("not the full path")) : null;
    }

    [Theory]
    [InlineData("GET", "stored body")]
    [InlineData("HEAD", "")]
    public async Task FreshStoredResponse_IsServedAsAHit(string method, string body)
    {
        await using var proxy = await StartWithStoredAsync();
        var (context, stream) = Request(proxy, method);

        var served = Serve(proxy, context);

        Assert.NotNull(served);
        await served;
        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("CacheProxy; hit", context.Response.Headers["Cache-Status"]);
        Assert.Equal("0", context.Response.Headers.Age);
        Assert.Equal(11, context.Response.ContentLength);
        Assert.Equal(body, System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Single(proxy.Origin.Seen);
    }

    [Fact]
    public async Task AUrlLongerThanTheStackBuffer_IsServedToo()
    {
        await using var proxy = await StartWithStoredAsync();
        var path = "/f/" + new string('x', 400);
        await proxy.GetAsync(path);
        var (context, stream) = Request(proxy, path: path);

        await Serve(proxy, context)!;

        Assert.Equal("CacheProxy; hit", context.Response.Headers["Cache-Status"]);
        Assert.Equal("stored body", System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public async Task ClientConditionalRequest_IsAnswered304()
    {
        await using var proxy = await StartWithStoredAsync();
        var (context, stream) = Request(proxy, headers: ("If-None-Match", "\"v1\""));

        await Serve(proxy, context)!;

        Assert.Equal(304, context.Response.StatusCode);
        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public async Task StaleEntry_GoesToTheFullPath()
    {
        await using var proxy = await StartWithStoredAsync();
        proxy.Time.Advance(TimeSpan.FromSeconds(61));

        Assert.Null(Serve(proxy, Request(proxy).Context));
    }

    [Theory]
    [InlineData("Cache-Control", "no-cache")]
    [InlineData("Pragma", "no-cache")]
    [InlineData("Cache-Control", "max-age=0")]
    [InlineData("Cache-Control", "min-fresh=120")]
    public async Task RequestDirectivesThatRefuseTheStoredResponse_GoToTheFullPath(string name, string value)
    {
        await using var proxy = await StartWithStoredAsync();
        proxy.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(Serve(proxy, Request(proxy, headers: (name, value)).Context));
    }

    [Theory]
    [InlineData("POST", "/f")]
    [InlineData("DELETE", "/f")]
    [InlineData("GET", "/not-stored")]
    public async Task OtherMethodsAndUnknownUrls_GoToTheFullPath(string method, string path)
    {
        await using var proxy = await StartWithStoredAsync();

        Assert.Null(Serve(proxy, Request(proxy, method, path).Context));
    }

    [Fact]
    public async Task RequestWithoutACachedRoute_GoesToTheFullPath()
    {
        await using var proxy = await StartWithStoredAsync();
        var (context, _) = Request(proxy);
        context.SetEndpoint(null);

        Assert.Null(Serve(proxy, context));
    }

    [Fact]
    public async Task Variants_AreMatchedOnTheVaryFields()
    {
        await using var proxy = await StartWithStoredAsync(vary: "Accept-Language");

        Assert.NotNull(Serve(proxy, Request(proxy, headers: ("Accept-Language", "en")).Context));
        Assert.Null(Serve(proxy, Request(proxy, headers: ("Accept-Language", "de")).Context));
        Assert.Null(Serve(proxy, Request(proxy).Context));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFailingBodyWrite_IsAnsweredByErrorShaping_NotThrownAtTheCaller(bool failsLater)
    {
        await using var proxy = await StartWithStoredAsync();
        var (context, _) = Request(proxy);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new FailingStream(failsLater)));

        Task? served = null;
        Assert.Null(Record.Exception(() => { served = Serve(proxy, context); }));
        await proxy.Services.GetRequiredService<CacheProxy.Diagnostics.ErrorShaping>().Observe(context, served!);

        Assert.Equal(500, context.Response.StatusCode);
        Assert.Equal("application/problem+json", context.Response.ContentType);
    }

    /// <summary>A response body whose first write fails (at once, or after going asynchronous); the problem's write succeeds.</summary>
    private sealed class FailingStream(bool failsLater) : MemoryStream
    {
        private int _writes;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _writes++ > 0 ? base.WriteAsync(buffer, cancellationToken)
            : failsLater ? FailLaterAsync() : throw new InvalidOperationException("write failed");

        private static async ValueTask FailLaterAsync()
        {
            await Task.Yield();
            throw new InvalidOperationException("write failed");
        }
    }
}
