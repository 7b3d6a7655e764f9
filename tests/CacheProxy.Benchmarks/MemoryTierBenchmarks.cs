using BenchmarkDotNet.Attributes;
using CacheProxy.Configuration;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Benchmarks;

/// <summary>
/// A memory-tier hit on a full tier (so W-TinyLFU's sketch and its window simulations are running), for a key the
/// simulations sample and one they do not, against LRU: the policy's share of a hit's CPU.
/// </summary>
[MemoryDiagnoser]
public class MemoryTierBenchmarks
{
    private MemoryCacheStore _store = null!;
    private string _sampled = null!;
    private string _unsampled = null!;

    [Params(EvictionPolicy.TinyLfu, EvictionPolicy.Lru)]
    public EvictionPolicy Eviction { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = BenchmarkHost.Services();
        services.AddCacheProxy();
        services.Configure<CacheProxyOptions>(o =>
        {
            o.Eviction = Eviction;
            o.MemoryTierSizeLimit = 16L << 20;
        });
        var store = services.BuildServiceProvider().GetRequiredService<MemoryCacheStore>();
        var entry = new CacheEntry { StatusCode = 200, Body = new byte[1024] };
        // 16,000 entries of about 1 KiB: the tier is full, so the sketch and the window's simulations exist.
        for (var i = 0; i < 16_000; i++)
        {
            var key = $"https\u001fwww.example.com\u001f/objects/{i}\u001f";
            store.SetAsync(key, entry, TimeSpan.FromDays(1), default).AsTask().GetAwaiter().GetResult();
            store.Get(key);
        }
        _store = store;
        var held = Enumerable.Range(0, 16_000).Select(i => $"https\u001fwww.example.com\u001f/objects/{i}\u001f").Where(k => store.Get(k) is not null).ToList();
        _sampled = held.FirstOrDefault(k => Sampled(store, k)) ?? held[0];
        _unsampled = held.First(k => !Sampled(store, k));
    }

    private static bool Sampled(MemoryCacheStore store, string key) => store.SampledBySimulations(key);

    [Benchmark]
    public bool HitSampledKey() => _store.TryGetStored(_sampled, out _);

    [Benchmark]
    public bool HitUnsampledKey() => _store.TryGetStored(_unsampled, out _);
}
