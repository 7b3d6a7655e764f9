using System.Diagnostics.Metrics;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>
/// The real middleware and YARP on TestServer in front of a real Kestrel origin, with a FakeTimeProvider so
/// tests move time instead of sleeping.
/// </summary>
public sealed class ProxyFixture : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsOrigin;
    private readonly MetricCollector<long> _collapseWaiting;
    private readonly MetricCollector<long> _refreshes;

    private ProxyFixture(WebApplication app, TestOrigin origin, FakeTimeProvider time, bool ownsOrigin)
    {
        _app = app;
        Origin = origin;
        Time = time;
        _ownsOrigin = ownsOrigin;
        Client = app.GetTestClient();
        _collapseWaiting = Collect<long>("cacheproxy.collapse.waiting");
        _refreshes = Collect<long>("cacheproxy.background_refreshes");
    }

    public TestOrigin Origin { get; }

    public FakeTimeProvider Time { get; }

    public HttpClient Client { get; }

    /// <summary>Another client of the gateway, whose default headers (a management key) do not ride on <see cref="Client"/>'s requests.</summary>
    public HttpClient NewClient() => _app.GetTestClient();

    public IServiceProvider Services => _app.Services;

    /// <summary>Gets every log record the proxy wrote, at Debug and above, with its scopes.</summary>
    public FakeLogCollector Logs => _app.Services.GetRequiredService<FakeLogCollector>();

    /// <summary>
    /// Waits until <paramref name="count"/> events named <paramref name="eventName"/> were logged. Work that follows
    /// a response (storing it, logging a failure) can finish after the client has its answer; the event is the signal.
    /// </summary>
    public Task WaitForLogAsync(string eventName, int count = 1) =>
        Signal.WaitUntilAsync(() => Logs.GetSnapshot().Count(r => r.Id.Name == eventName) >= count);

    /// <summary>Records the measurements of one CacheProxy instrument from now on.</summary>
    public MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(Services.GetRequiredService<IMeterFactory>(), CacheProxyTelemetry.MeterName, instrument);

    /// <summary>Gets how many requests wait now for a concurrent fetch of their key (<c>cacheproxy.collapse.waiting</c>).</summary>
    public long CollapseWaiters => _collapseWaiting.GetMeasurementSnapshot().Sum(m => m.Value);

    /// <summary>Waits until <paramref name="count"/> requests wait for a concurrent fetch of their key.</summary>
    public Task WaitForCollapseWaitersAsync(int count) => Signal.WaitUntilAsync(() => CollapseWaiters >= count);

    /// <summary>Waits until <paramref name="count"/> background refreshes have ended (<c>cacheproxy.background_refreshes</c>).</summary>
    public Task WaitForRefreshesAsync(int count = 1) => _refreshes.WaitForMeasurementsAsync(count, TimeSpan.FromSeconds(30));

    public static async Task<ProxyFixture> StartAsync(Action<CacheProxyOptions>? configure = null, Action<WebApplication>? pipeline = null,
        string? upstream = null, TimeSpan? activityTimeout = null, Action<WebApplication>? earlyPipeline = null, bool mapManagement = false,
        TestOrigin? sharedOrigin = null, Action<ICacheProxyBuilder>? features = null, bool systemClock = false,
        Func<RouteConfig, RouteConfig>? route = null, Func<ClusterConfig, ClusterConfig>? cluster = null)
    {
        var origin = sharedOrigin ?? await TestOrigin.StartAsync();
        // Start from the present: the origin stamps real Date headers, and the cache's clock must agree with them.
        // Tests against real Redis run on the system clock: Redis expiries and soft timeouts are real time.
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        if (!systemClock)
        {
            origin.Clock = time;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddFakeLogging();
        builder.Services.AddSingleton<TimeProvider>(systemClock ? TimeProvider.System : time);
        var clusterConfig = new ClusterConfig { ClusterId = "origin", HttpRequest = new ForwarderRequestConfig { ActivityTimeout = activityTimeout }, Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = upstream ?? origin.Address } } };
        builder.Services.AddReverseProxy().LoadFromMemory([Route(route)], [cluster is null ? clusterConfig : cluster(clusterConfig)]);
        var cacheProxy = builder.Services.AddCacheProxy(configure ?? (_ => { }))
            .AddManagement().AddDashboard().AddWarming().AddExperiments().AddGracefulDrain().AddUpstreamClient(); // as the sample gateway
        features?.Invoke(cacheProxy);
        var app = builder.Build();
        earlyPipeline?.Invoke(app);
        app.UseCacheProxy();
        pipeline?.Invoke(app);
        app.MapReverseProxy();
        if (mapManagement)
        {
            app.MapCacheProxyManagement();
        }
        await app.StartAsync();
        return new ProxyFixture(app, origin, time, ownsOrigin: sharedOrigin is null);
    }

    /// <summary>The fixture's one route (id <c>all</c>, every path), changed by <paramref name="change"/>.</summary>
    public static RouteConfig Route(Func<RouteConfig, RouteConfig>? change = null)
    {
        var route = new RouteConfig { RouteId = "all", ClusterId = "origin", Match = new RouteMatch { Path = "{**catch-all}" } };
        return change is null ? route : change(route);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        _collapseWaiting.Dispose();
        _refreshes.Dispose();
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsOrigin)
        {
            await Origin.DisposeAsync();
        }
    }
}

public static class ResponseExtensions
{
    public static string CacheStatus(this HttpResponseMessage response) =>
        response.Headers.TryGetValues("Cache-Status", out var v) ? string.Join(", ", v) : string.Empty;

    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? string.Join(", ", v)
        : response.Content.Headers.TryGetValues(name, out var c) ? string.Join(", ", c) : null;
}
