using System.Collections.Concurrent;
using System.Diagnostics;
using CacheProxy.Diagnostics;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Diagnostics;

public sealed class TracingTests
{
    [Fact]
    public async Task CacheSpans_AreChildrenOfTheRequestSpan_WhichCarriesTheCacheStatus()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is CacheProxyTelemetry.ActivitySourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("x");
        };
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        await proxy.GetAsync("/t", ("traceparent", $"00-{traceId}-00f067aa0ba902b7-01"));
        await proxy.GetAsync("/t", ("traceparent", $"00-{traceId}-00f067aa0ba902b8-01"));

        // The proxy's request spans are the children of the client's spans (the in-process origin has its own). A
        // server span stops after the client has its response: the stop is the signal.
        bool IsRequest(Activity a) => a.Source.Name == "Microsoft.AspNetCore" && a.ParentSpanId.ToHexString() is "00f067aa0ba902b7" or "00f067aa0ba902b8";
        await Signal.WaitUntilAsync(() => stopped.Count(a => a.TraceId.ToHexString() == traceId && IsRequest(a)) == 2);
        var mine = stopped.Where(a => a.TraceId.ToHexString() == traceId).ToList();
        var requests = mine.Where(IsRequest).ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal(["miss", "hit"], requests.Select(r => r.GetTagItem("cacheproxy.cache_status")));
        var lookups = mine.Where(a => a.OperationName == "cacheproxy.lookup").ToList();
        Assert.Equal(2, lookups.Count);
        Assert.All(lookups, l => Assert.Contains(requests, r => r.SpanId == l.ParentSpanId));
        var store = Assert.Single(mine, a => a.OperationName == "cacheproxy.store");
        Assert.Equal(requests[0].SpanId, store.ParentSpanId);
    }
}
