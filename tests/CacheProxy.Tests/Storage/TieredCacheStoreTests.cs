using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Storage;

/// <summary>The memory tier in front of a shared tier, with the typed invalidation messages of other instances.</summary>
public sealed class TieredCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
    private readonly MemoryCacheStore _memory;
    private readonly SharedTier _shared;
    private readonly Bus _bus = new();
    private readonly TieredCacheStore _tiered;

    public TieredCacheStoreTests()
    {
        var options = MemoryCacheStoreTests.Options(_ => { });
        _memory = new MemoryCacheStore(_time, options, NullLoggerFactory.Instance, _metrics);
        _shared = new SharedTier(new MemoryCacheStore(_time, options, NullLoggerFactory.Instance, _metrics));
        _tiered = new TieredCacheStore(_memory, _shared, _bus, NullLoggerFactory.Instance);
    }

    private static CacheEntry Entry(params string[] tags) => new() { StatusCode = 200, Tags = tags };

    private async Task StoreAsync(string key, params string[] tags) => await _tiered.SetAsync(key, Entry(tags), TimeSpan.FromMinutes(1), default);

    [Fact]
    public async Task WritesAndRemovals_ArePublished_SoOtherInstancesDropTheirCopies()
    {
        await StoreAsync("k");
        await _tiered.RemoveAsync("k", default);

        Assert.Equal([new(InvalidationScope.Key, "k"), new(InvalidationScope.Key, "k")], _bus.Published);
    }

    [Theory]
    [InlineData(InvalidationScope.Key, "a/1", new[] { "a/2", "b/1" })]
    [InlineData(InvalidationScope.Prefix, "a/", new[] { "b/1" })]
    [InlineData(InvalidationScope.Tag, "product:7", new[] { "a/2" })]
    [InlineData(InvalidationScope.All, "", new string[0])]
    public async Task AMessageFromAnotherInstance_DropsWhatItNames_FromTheMemoryTierOnly(InvalidationScope scope, string value, string[] kept)
    {
        await StoreAsync("a/1", "product:7");
        await StoreAsync("a/2", "product:8");
        await StoreAsync("b/1", "product:7");

        await _bus.DeliverAsync(new InvalidationMessage(scope, value));

        foreach (var key in new[] { "a/1", "a/2", "b/1" })
        {
            Assert.Equal(kept.Contains(key), _memory.TryGet(key, out _));
            Assert.True(_shared.Inner.TryGet(key, out _)); // the shared tier answers for it still
        }
    }

    private sealed class Bus : IInvalidationBus
    {
        private Func<InvalidationMessage, CancellationToken, ValueTask>? _handler;

        public List<InvalidationMessage> Published { get; } = [];

        public ValueTask PublishAsync(InvalidationMessage message, CancellationToken cancellationToken)
        {
            Published.Add(message);
            return default;
        }

        public void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken) => _handler = handler;

        public ValueTask DeliverAsync(InvalidationMessage message) => _handler!(message, CancellationToken.None);
    }

    private sealed class SharedTier(MemoryCacheStore inner) : ISharedCacheStore
    {
        public MemoryCacheStore Inner => inner;

        public string TierName => "test";

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public async ValueTask<SharedCacheHit?> GetWithTimeToLiveAsync(string key, CancellationToken cancellationToken) =>
            await inner.GetAsync(key, cancellationToken) is { } entry ? new SharedCacheHit(entry, TimeSpan.FromMinutes(1)) : null;

        public ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken) =>
            inner.SetAsync(key, entry, timeToLive, cancellationToken);

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }
}
