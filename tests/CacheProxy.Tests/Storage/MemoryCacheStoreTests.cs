using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Storage;

public sealed class MemoryCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private MemoryCacheStore Create(long limit, EvictionPolicy policy = EvictionPolicy.Lru) =>
        new(_time, Options(o => { o.MemoryTierSizeLimit = limit; o.Eviction = policy; }), NullLoggerFactory.Instance, _metrics);

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

    [Theory]
    [InlineData(EvictionPolicy.Lru)]
    [InlineData(EvictionPolicy.TinyLfu)]
    public async Task ConcurrentReadsWritesAndRemovals_KeepCountAndBytesExact(EvictionPolicy policy)
    {
        var size = Entry(100).EstimatedSize + 6; // keys k00..k39
        var store = Create(limit: 30 * size, policy);    // smaller than the key space: evictions happen too
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

    [Fact]
    public void TheDefaultPolicy_IsTinyLfu()
    {
        var store = new MemoryCacheStore(_time, Options(_ => { }), NullLoggerFactory.Instance, _metrics);
        Assert.Equal(EvictionPolicy.TinyLfu, store.Policy);
    }

    // 100 hot entries, each asked for several times, then a scan of 500 entries asked for once: LRU loses every hot
    // entry to the scan; W-TinyLFU keeps them, rejecting the scan at admission (counted).
    [Theory]
    [InlineData(EvictionPolicy.Lru, 0)]
    [InlineData(EvictionPolicy.TinyLfu, 95)]
    public async Task AScan_PushesHotEntriesOut_OnlyUnderLru(EvictionPolicy policy, int keptAtLeast)
    {
        using var rejections = new MetricCollector<long>(_metrics.Rejections);
        var size = Entry(1000).EstimatedSize + 8; // keys hot-000 ... of 7 characters, scan keys of 8
        var store = Create(limit: 110 * size, policy);
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 100; i++)
            {
                if (await store.GetAsync($"hot-{i:000}", default) is null)
                {
                    await store.SetAsync($"hot-{i:000}", Entry(1000), TimeSpan.FromHours(1), default);
                }
            }
        }
        for (var i = 0; i < 500; i++)
        {
            Assert.Null(await store.GetAsync($"scan{i:0000}", default));
            await store.SetAsync($"scan{i:0000}", Entry(1000), TimeSpan.FromHours(1), default);
        }

        var kept = 0;
        for (var i = 0; i < 100; i++)
        {
            kept += await store.GetAsync($"hot-{i:000}", default) is null ? 0 : 1;
        }
        Assert.True(keptAtLeast == 0 ? kept == 0 : kept >= keptAtLeast, $"{kept} of 100 hot entries kept");
        Assert.True(store.Bytes <= 110 * size);
        var rejected = rejections.GetMeasurementSnapshot().EvaluateAsCounter();
        Assert.Equal(policy == EvictionPolicy.Lru ? 0 : store.Rejected, rejected);
        Assert.True(policy == EvictionPolicy.Lru || rejected > 400, $"rejected {rejected}");
    }

    // One new 600 KB entry, asked for once, in a tier of a thousand hot 1 KB entries: under LRU it pushes out hundreds
    // of them; under W-TinyLFU it is weighed against them one by one and loses.
    [Theory]
    [InlineData(EvictionPolicy.Lru, false)]
    [InlineData(EvictionPolicy.TinyLfu, true)]
    public async Task ALargeNewEntry_DoesNotPushOutHotSmallOnes_UnderTinyLfu(EvictionPolicy policy, bool hotKept)
    {
        var small = Entry(1000).EstimatedSize + 16;
        var store = Create(limit: 1000 * small, policy);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 1000; i++)
            {
                var key = $"small-{i:0000000000}";
                if (await store.GetAsync(key, default) is null)
                {
                    await store.SetAsync(key, Entry(1000), TimeSpan.FromHours(1), default);
                }
            }
        }
        Assert.Null(await store.GetAsync("large", default));
        await store.SetAsync("large", Entry(600_000), TimeSpan.FromHours(1), default);

        var kept = 0;
        for (var i = 0; i < 1000; i++)
        {
            kept += await store.GetAsync($"small-{i:0000000000}", default) is null ? 0 : 1;
        }
        Assert.True(hotKept ? kept >= 950 : kept < 600, $"{kept} of 1000 hot entries kept");
        Assert.Equal(!hotKept, await store.GetAsync("large", default) is not null);
    }

    // A new key asked for more often than what it would replace is admitted, even when the tier is full of entries that
    // were hot once.
    [Fact]
    public async Task ANewKeyAskedForOften_IsAdmitted_UnderTinyLfu()
    {
        var size = Entry(1000).EstimatedSize + 7;
        var store = Create(limit: 100 * size, EvictionPolicy.TinyLfu);
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await store.GetAsync($"old-{i:000}", default));
            await store.SetAsync($"old-{i:000}", Entry(1000), TimeSpan.FromHours(1), default);
        }
        for (var miss = 0; miss < 8; miss++)
        {
            Assert.Null(await store.GetAsync("new-key", default)); // asked for, not yet stored (say the origin failed)
        }
        await store.SetAsync("new-key", Entry(1000), TimeSpan.FromHours(1), default);
        for (var i = 0; i < 200; i++)
        {
            await store.SetAsync($"one-{i:000}", Entry(1000), TimeSpan.FromHours(1), default); // push the window on
        }

        Assert.NotNull(await store.GetAsync("new-key", default));
    }

    // A reload that changes CacheProxy:Eviction moves the entries held to the new policy (event 1105): none is lost,
    // and the new policy decides from then on.
    [Fact]
    public async Task AReloadOfTheEvictionPolicy_KeepsTheEntries_AndTheNewPolicyDecides()
    {
        var source = new Infrastructure.ReloadableConfiguration(new() { ["CacheProxy:Eviction"] = "Lru" });
        var services = new ServiceCollection().AddFakeLogging();
        services.AddCacheProxy(source.Root.GetSection("CacheProxy"));
        using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<MemoryCacheStore>();
        for (var i = 0; i < 20; i++)
        {
            await store.SetAsync($"k{i:00}", Entry(100), TimeSpan.FromMinutes(1), default);
        }
        Assert.Equal(EvictionPolicy.Lru, store.Policy);

        source.Reload(new() { ["CacheProxy:Eviction"] = "TinyLfu" });
        await store.SetAsync("k20", Entry(100), TimeSpan.FromMinutes(1), default); // the next write switches

        Assert.Equal(EvictionPolicy.TinyLfu, store.Policy);
        Assert.Equal(21, store.Count);
        for (var i = 0; i <= 20; i++)
        {
            Assert.NotNull(await store.GetAsync($"k{i:00}", default));
        }
        var changed = Assert.Single(provider.GetRequiredService<FakeLogCollector>().GetSnapshot(), r => r.Id.Name == "EvictionPolicyChanged");
        Assert.Contains("TinyLfu", changed.Message, StringComparison.Ordinal);
    }
}
