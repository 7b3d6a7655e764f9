using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>A real Kestrel origin on 127.0.0.1 that counts the requests it answers and records what it saw.</summary>
public sealed class TestOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _calls;

    private TestOrigin(WebApplication app) => _app = app;

    public string Address { get; private set; } = string.Empty;

    /// <summary>Gets how many requests reached the origin.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets the requests the origin saw, in order (method, path, headers).</summary>
    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    /// <summary>Gets or sets the clock that stamps Date on responses, so it agrees with the cache's fake clock.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets how the origin answers; the default answers 200 "ok" with no caching headers.</summary>
    public Func<HttpContext, Task> Handler { get; set; } = c => c.Response.WriteAsync("ok");

    /// <param name="http2">Speak HTTP/2 only (cleartext, prior knowledge), as an h2c origin does.</param>
    public static async Task<TestOrigin> StartAsync(bool http2 = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (http2)
        {
            builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
        }
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var origin = new TestOrigin(app);
        app.Run(async context =>
        {
            Interlocked.Increment(ref origin._calls);
            origin.Seen.Enqueue(new SeenRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), context.Request.Protocol));
            context.Response.Headers.Date = origin.Clock.GetUtcNow().ToString("r", System.Globalization.CultureInfo.InvariantCulture);
            await origin.Handler(context);
        });
        await app.StartAsync();
        origin.Address = app.Urls.First().TrimEnd('/') + "/";
        return origin;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record SeenRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Protocol = "HTTP/1.1");
