using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Storage;

public sealed class MemoryCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private MemoryCacheStore Create(long limit) =>
        new(_time, new StaticOptions(new CacheProxyOptions { MemoryTierSizeLimit = limit }), NullLoggerFactory.Instance, _metrics);

    private static CacheEntry Entry(int bytes) => new() { StatusCode = 200, Body = new byte[bytes] };

    [Fact]
    public async Task EvictsLeastRecentlyUsed_WhenBytesExceedTheLimit()
    {
        using var evictions = new MetricCollector<long>(_metrics.Evictions);
        var store = Create(limit: 3 * 1500);
        await store.SetAsync("a", Entry(1000), TimeSpan.FromMinutes(1), default);
        await store.SetAsync("b", Entry(1000), TimeSpan.FromMinutes(1), default);
        await store.SetAsync("c", Entry(1000), TimeSpan.FromMinutes(1), default);
        Assert.NotNull(await store.GetAsync("a", default)); // a is now most recently used

        await store.SetAsync("d", Entry(1000), TimeSpan.FromMinutes(1), default);

        Assert.Null(await store.GetAsync("b", default));
        Assert.NotNull(await store.GetAsync("a", default));
        Assert.NotNull(await store.GetAsync("d", default));
        Assert.True(store.Bytes <= 3 * 1500);
        Assert.Equal(1, store.Evictions);
        Assert.Equal(1, evictions.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task RefusesAnEntryLargerThanTheWholeTier()
    {
        var store = Create(limit: 2000);
        await store.SetAsync("big", Entry(5000), TimeSpan.FromMinutes(1), default);
        Assert.Null(await store.GetAsync("big", default));
        Assert.Equal(0, store.Bytes);
    }

    [Fact]
    public async Task EntriesExpire_AfterTheirTimeToLive()
    {
        var store = Create(limit: 1 << 20);
        await store.SetAsync("a", Entry(10), TimeSpan.FromSeconds(30), default);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(await store.GetAsync("a", default));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await store.GetAsync("a", default));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Replacing_AndRemoving_KeepTheByteCountExact()
    {
        var store = Create(limit: 1 << 20);
        await store.SetAsync("a", Entry(100), TimeSpan.FromMinutes(1), default);
        var one = store.Bytes;
        await store.SetAsync("a", Entry(100), TimeSpan.FromMinutes(1), default);
        Assert.Equal(one, store.Bytes);
        await store.RemoveAsync("a", default);
        Assert.Equal(0, store.Bytes);
    }

    private sealed class StaticOptions(CacheProxyOptions value) : IOptionsMonitor<CacheProxyOptions>
    {
        public CacheProxyOptions CurrentValue => value;

        public CacheProxyOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<CacheProxyOptions, string?> listener) => null;
    }
}
