using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Storage;

public sealed class MemoryCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private MemoryCacheStore Create(long limit) =>
        new(_time, Options(o => o.MemoryTierSizeLimit = limit), NullLoggerFactory.Instance, _metrics);

    internal static LastGoodOptions Options(Action<CacheProxyOptions> configure)
    {
        var services = new ServiceCollection().AddLogging().AddMetrics().AddSingleton<CacheProxyMetrics>().AddSingleton<LastGoodOptions>();
        services.AddOptions<CacheProxyOptions>().Configure(configure);
        return services.BuildServiceProvider().GetRequiredService<LastGoodOptions>();
    }

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
        Assert.Equal(1, evictions.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task AHitOnAnOldEntry_MovesItAheadOfEviction_InALargerTier()
    {
        var size = Entry(1000).EstimatedSize + 6; // keys k00..k12: three characters
        var store = Create(limit: 12 * size);
        for (var i = 0; i < 12; i++)
        {
            await store.SetAsync($"k{i:00}", Entry(1000), TimeSpan.FromMinutes(1), default);
        }
        Assert.NotNull(await store.GetAsync("k00", default)); // the oldest: outside the recent quarter, so it moves

        await store.SetAsync("k12", Entry(1000), TimeSpan.FromMinutes(1), default);

        Assert.Null(await store.GetAsync("k01", default));
        Assert.NotNull(await store.GetAsync("k00", default));
        Assert.Equal(12, store.Count);
    }

    [Fact]
    public async Task ConcurrentReadsWritesAndRemovals_KeepCountAndBytesExact()
    {
        var size = Entry(100).EstimatedSize + 6; // keys k00..k39
        var store = Create(limit: 30 * size);    // smaller than the key space: evictions happen too
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 20_000; i++)
            {
                var key = $"k{random.Next(40):00}";
                switch (random.Next(10))
                {
                    case < 6: await store.GetAsync(key, default); break;
                    case < 9: await store.SetAsync(key, Entry(100), TimeSpan.FromMinutes(1), default); break;
                    default: store.Remove(key); break;
                }
            }
        }));
        await Task.WhenAll(workers);

        var present = 0;
        for (var k = 0; k < 40; k++)
        {
            present += await store.GetAsync($"k{k:00}", default) is null ? 0 : 1;
        }
        Assert.Equal(present, store.Count);
        Assert.Equal(present * size, store.Bytes);
        Assert.True(store.Bytes <= 30 * size);
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
}
