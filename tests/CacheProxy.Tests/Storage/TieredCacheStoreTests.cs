using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using static CacheProxy.Invalidation.Verdict;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Storage;

/// <summary>The memory tier in front of a shared tier, and the typed invalidation messages of other instances (Invalidations).</summary>
public sealed class TieredCacheStoreTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CacheProxyMetrics _metrics = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
    private readonly MemoryCacheStore _memory;
    private readonly SharedTier _shared;
    private readonly Bus _bus = new();
    private readonly TieredCacheStore _tiered;
    private readonly CacheProxy.Invalidation.InvalidationLedger _ledger;

    public TieredCacheStoreTests()
    {
        var options = MemoryCacheStoreTests.Options(_ => { });
        _memory = new MemoryCacheStore(_time, options, NullLoggerFactory.Instance, _metrics);
        _shared = new SharedTier(new MemoryCacheStore(_time, options, NullLoggerFactory.Instance, _metrics));
        _tiered = new TieredCacheStore(_memory, _shared, _bus);
        _ledger = new CacheProxy.Invalidation.InvalidationLedger(options, _time);
        var invalidations = new Invalidations(_ledger, _memory, _time, _metrics, NullLoggerFactory.Instance, _bus);
        invalidations.StartAsync(default).GetAwaiter().GetResult();
    }

    private CacheEntry Entry(params string[] tags) => new() { StatusCode = 200, Tags = tags, RequestTime = _time.GetUtcNow() };

    private async Task StoreAsync(string key, params string[] tags) => await _tiered.SetAsync(key, Entry(tags), TimeSpan.FromMinutes(1), default);

    [Fact]
    public async Task WritesAndRemovals_ArePublished_SoOtherInstancesDropTheirCopies()
    {
        await StoreAsync("k");
        await _tiered.RemoveAsync("k", default);

        Assert.Equal([new("k"), new("k")], _bus.Replaced);
        Assert.Empty(_bus.Published); // no purge
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

        _time.Advance(TimeSpan.FromSeconds(5));
        await _bus.DeliverAsync(new InvalidationMessage(scope, value, Time: _time.GetUtcNow()));

        foreach (var key in new[] { "a/1", "a/2", "b/1" })
        {
            Assert.Equal(kept.Contains(key), _memory.TryGet(key, out _));
            // The shared tier still holds it, but the ledger says what is left of it.
            Assert.True(_shared.Inner.TryGet(key, out var shared));
            Assert.Equal(kept.Contains(key) ? Valid : Gone, _ledger.Check(key, shared, filledHere: false, out _));
        }
    }

    [Fact]
    public async Task AReplacedEntry_LeavesTheMemoryTier_AndIsNoPurge()
    {
        await StoreAsync("a/1");

        await _bus.DeliverAsync(new EntryReplaced("a/1"));

        Assert.False(_memory.TryGet("a/1", out _));
        Assert.True(_shared.Inner.TryGet("a/1", out var shared));
        Assert.Equal(Valid, _ledger.Check("a/1", shared, filledHere: false, out _));
    }

    [Fact]
    public async Task WhatTheEngineKeepsBesideAnEntry_IsTheMemoryTiers_AndFilledHereOnlyForThisProcessesWrites()
    {
        await StoreAsync("mine");
        await _shared.SetAsync("theirs", Entry(), TimeSpan.FromMinutes(1), default); // another instance's write

        var theirs = await _tiered.GetStoredAsync("theirs", default); // a shared hit fills the memory tier

        Assert.True(_memory.TryGetStored("mine", out var mine));
        Assert.True(mine.FilledHere);
        Assert.NotNull(theirs);
        Assert.False(theirs.FilledHere);
        Assert.Same(theirs, await _tiered.GetStoredAsync("theirs", default)); // the memory tier's own, with what the engine noted
    }

    private sealed class Bus : IInvalidationBus
    {
        private Func<InvalidationMessage, CancellationToken, ValueTask>? _onInvalidation;
        private Func<EntryReplaced, CancellationToken, ValueTask>? _onReplaced;

        public List<InvalidationMessage> Published { get; } = [];

        public List<EntryReplaced> Replaced { get; } = [];

        public ValueTask<bool> PublishAsync(InvalidationMessage message, CancellationToken cancellationToken)
        {
            Published.Add(message);
            return new(true);
        }

        public ValueTask<bool> PublishAsync(EntryReplaced notice, CancellationToken cancellationToken)
        {
            Replaced.Add(notice);
            return new(true);
        }

        public void Subscribe(Func<InvalidationMessage, CancellationToken, ValueTask> onInvalidation, Func<EntryReplaced, CancellationToken, ValueTask> onReplaced,
            CancellationToken cancellationToken) => (_onInvalidation, _onReplaced) = (onInvalidation, onReplaced);

        public ValueTask DeliverAsync(InvalidationMessage message) => _onInvalidation!(message, CancellationToken.None);

        public ValueTask DeliverAsync(EntryReplaced notice) => _onReplaced!(notice, CancellationToken.None);
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
