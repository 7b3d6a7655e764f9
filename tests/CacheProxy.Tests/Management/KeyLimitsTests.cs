using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;

namespace CacheProxy.Tests.Management;

/// <summary>
/// What one API key may hold or ask of the management plane: dashboard event streams and purges per second, past
/// which 429; and the purge ledger, bounded however many purges are made (docs/security.md).
/// </summary>
public sealed class KeyLimitsTests
{
    private const string Other = "other-key-0123456789abcdef0123456789";

    private static Task<ProxyFixture> StartAsync(Action<CacheProxy.Configuration.CacheProxyOptions> configure) => ProxyFixture.StartAsync(o =>
    {
        o.Management.ApiKeys["ops"] = PurgeTests.Key;
        o.Management.ApiKeys["other"] = Other;
        configure(o);
    }, mapManagement: true);

    private static async Task<HttpResponseMessage> OpenStreamAsync(ProxyFixture proxy, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/events") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        return await proxy.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [Fact]
    public async Task EventStreams_AreLimitedPerKey_With429_AndAClosedStreamFreesItsPlace()
    {
        await using var proxy = await StartAsync(o => o.Management.EventStreamsPerKey = 2);
        using var limited = proxy.Collect<long>("cacheproxy.management.limited");

        var first = await OpenStreamAsync(proxy, PurgeTests.Key);
        using var second = await OpenStreamAsync(proxy, PurgeTests.Key);
        using var third = await OpenStreamAsync(proxy, PurgeTests.Key);
        using var otherKey = await OpenStreamAsync(proxy, Other);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
        Assert.Contains("too-many-requests", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode); // per key
        Assert.Equal("event_streams", Assert.Single(limited.GetMeasurementSnapshot()).Tags["limit"]);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ManagementLimitReached");

        first.Dispose(); // the server ends that stream when it sees the client gone, and its place is free
        HttpResponseMessage? again = null;
        await Signal.WaitUntilAsync(async () =>
        {
            again?.Dispose();
            again = await OpenStreamAsync(proxy, PurgeTests.Key);
            return again.StatusCode == HttpStatusCode.OK;
        });
        again!.Dispose();
    }

    [Fact]
    public async Task Purges_AreRateLimitedPerKey_With429AndRetryAfter()
    {
        await using var proxy = await StartAsync(o => o.Management.PurgesPerSecondPerKey = 0.1); // one now, the next in 10 s

        var first = await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "a" } });
        var second = await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "b" } });
        var otherKey = await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "c" } }, Other);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(10), second.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode);
    }

    [Fact]
    public async Task ThePurgeLedger_IsBounded_AndWhatItForgetsTurnsStale()
    {
        await using var proxy = await StartAsync(o => o.Purge.MaxLedgerEntries = 1000);
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.ETag = "\"v1\"";
            if (c.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                c.Response.StatusCode = StatusCodes.Status304NotModified;
                return Task.CompletedTask;
            }
            return c.Response.WriteAsync("kept");
        };
        using var forgotten = proxy.Collect<long>("cacheproxy.purge.forgotten");
        using var records = proxy.Collect<int>("cacheproxy.purge.records");
        await proxy.GetAsync("/kept");
        await proxy.WaitForLogAsync("ResponseStored");
        proxy.Time.Advance(TimeSpan.FromSeconds(1)); // the purges come after it was filled

        for (var batch = 0; batch < 2; batch++)
        {
            var urls = Enumerable.Range(0, 600).Select(i => $"http://127.0.0.1/purged/{batch}/{i}").ToArray();
            Assert.Equal(HttpStatusCode.OK, (await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { urls })).StatusCode);
        }
        records.RecordObservableInstruments();
        var kept = await proxy.GetAsync("/kept");

        Assert.True(records.LastMeasurement!.Value <= 1000, $"{records.LastMeasurement.Value} records");
        Assert.NotEmpty(forgotten.GetMeasurementSnapshot());
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "PurgeLedgerBounded");
        Assert.Equal("kept", await kept.Content.ReadAsStringAsync());
        Assert.Contains("fwd=stale", kept.CacheStatus(), StringComparison.Ordinal); // not vouched for any more: revalidated
    }
}
