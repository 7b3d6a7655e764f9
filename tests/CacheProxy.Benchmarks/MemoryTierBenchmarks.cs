using BenchmarkDotNet.Attributes;
using CacheProxy.Configuration;
using CacheProxy.Storage;
using CacheProxy.Storage.Eviction;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Benchmarks;

/// <summary>
/// Memory-tier hits on a full tier (so W-TinyLFU's sketch and its window simulations are running) against LRU, over
/// 4,096 held keys in turn; and what a key the window simulations sample pays on top: one lookup replayed into them.
/// </summary>
[MemoryDiagnoser]
public class MemoryTierBenchmarks
{
    private const int Entries = 16_000;
    private MemoryCacheStore _store = null!;
    private string[] _held = null!;
    private int _next;
    private WindowSimulations _simulations = null!;
    private int[] _sampledHashes = null!;

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
        _store = services.BuildServiceProvider().GetRequiredService<MemoryCacheStore>();
        var entry = new CacheEntry { StatusCode = 200, Body = new byte[1024] };
        var keys = Enumerable.Range(0, Entries).Select(i => $"https\u001fwww.example.com\u001f/objects/{i}\u001f").ToArray();
        foreach (var key in keys) // about 1 KiB each: 16 MiB full, the sketch and the window's simulations made
        {
            _store.SetAsync(key, entry, TimeSpan.FromDays(1), default).AsTask().GetAwaiter().GetResult();
            _store.Get(key);
        }
        _held = [.. keys.Where(k => _store.Get(k) is not null).Take(4096)];

        _simulations = new WindowSimulations(Entries);
        _sampledHashes = [.. Enumerable.Range(0, 100_000).Where(_simulations.Sampled).Take(1024)];
        foreach (var hash in _sampledHashes)
        {
            _simulations.Lookup(hash);
            _simulations.Fill(hash, 1100, 16L << 20);
        }
    }

    /// <summary>A hit on the next of 4,096 held keys, as the fresh-hit path looks it up.</summary>
    [Benchmark]
    public bool HitAcrossKeys() => _store.TryGetStored(_held[_next++ & 4095], out _);

    /// <summary>What a sampled key's lookup adds under W-TinyLFU: noted in the ring, replayed into the nine small caches.</summary>
    [Benchmark]
    public void SampledLookupReplayed() => _simulations.Lookup(_sampledHashes[_next++ & 1023]);
}
