using CacheProxy.Invalidation;
using CacheProxy.Storage;
using CacheProxy.Tests.Storage;
using Microsoft.Extensions.Time.Testing;

namespace CacheProxy.Tests.Invalidation;

public sealed class InvalidationLedgerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private InvalidationLedger Ledger(TimeSpan? skew = null) =>
        new(MemoryCacheStoreTests.Options(o => o.Purge.ClockSkew = skew ?? TimeSpan.Zero), _time);

    private StoredEntry Filled(TimeSpan ago, bool here = true, params string[] tags) =>
        new(new CacheEntry { StatusCode = 200, RequestTime = _time.GetUtcNow() - ago, Tags = tags }, filledHere: here);

    private static Verdict Check(InvalidationLedger ledger, string key, StoredEntry stored) => ledger.Check(key, stored.Entry, stored.FilledHere, out _);

    private const string Key = "http\u001Fh\u001F/a\u001F?q=1";

    private InvalidationMessage Purge(InvalidationScope scope, string value, bool soft = false) => new(scope, value, soft, _time.GetUtcNow());

    [Fact]
    public void APurge_ReachesWhatWasFilledBefore_NotWhatWasFilledAfter()
    {
        var ledger = Ledger();
        var before = Filled(TimeSpan.FromSeconds(1), tags: "t");
        ledger.Apply(Purge(InvalidationScope.Tag, "t"), here: true);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var after = Filled(TimeSpan.Zero, tags: "t");

        Assert.Equal(Verdict.Gone, ledger.Check(Key, before.Entry, before.FilledHere, out _));
        Assert.Equal(Verdict.Valid, ledger.Check(Key, after.Entry, after.FilledHere, out _));
    }

    [Theory]
    [InlineData(InvalidationScope.Key, "http\u001Fh\u001F/a\u001F?q=1")]
    [InlineData(InvalidationScope.Prefix, "http\u001Fh\u001F/a")]
    [InlineData(InvalidationScope.Tag, "t")]
    [InlineData(InvalidationScope.All, "")]
    public void EveryScope_Applies_ToVariantsAndCustomizedKeysOfTheUrlToo(InvalidationScope scope, string value)
    {
        var ledger = Ledger();
        var entry = Filled(TimeSpan.FromSeconds(1), tags: "t");
        ledger.Apply(Purge(scope, value), here: true);

        Assert.Equal(Verdict.Gone, ledger.Check(Key, entry.Entry, entry.FilledHere, out _));
        Assert.Equal(Verdict.Gone, Check(ledger, Key + "\u001Ftenant\u001Da", entry)); // a customizer's value after the URL
        Assert.Equal(scope is InvalidationScope.Key or InvalidationScope.Prefix ? Verdict.Valid : Verdict.Gone,
            Check(ledger, "http\u001Fh\u001F/b\u001F", entry));
    }

    [Fact]
    public void AKeyPurge_IsTheWholeUrl_NotAPrefixOfIt()
    {
        var ledger = Ledger();
        ledger.Apply(Purge(InvalidationScope.Key, "http\u001Fh\u001F/a\u001F?q=1"), here: true);

        Assert.Equal(Verdict.Valid, Check(ledger, "http\u001Fh\u001F/a\u001F?q=10", Filled(TimeSpan.FromSeconds(1))));
    }

    [Fact]
    public void ASoftPurge_LeavesTheEntryStale_FromThePurgeOn()
    {
        var ledger = Ledger();
        var entry = Filled(TimeSpan.FromSeconds(1), tags: "t");
        var purged = _time.GetUtcNow();
        ledger.Apply(Purge(InvalidationScope.Tag, "t", soft: true), here: true);

        Assert.Equal(Verdict.Stale, ledger.Check(Key, entry.Entry, entry.FilledHere, out var since));
        Assert.Equal(purged, since);
    }

    [Fact]
    public void ClockSkew_ExtendsPurgesAcrossClocks_NotWithinOne()
    {
        var ledger = Ledger(skew: TimeSpan.FromSeconds(2));
        ledger.Apply(Purge(InvalidationScope.Tag, "here"), here: true);
        ledger.Apply(Purge(InvalidationScope.Tag, "elsewhere"), here: false);
        _time.Advance(TimeSpan.FromSeconds(1)); // filled a second after both purges

        Assert.Equal(Verdict.Valid, Check(ledger, Key, Filled(TimeSpan.Zero, here: true, "here"))); // one clock
        Assert.Equal(Verdict.Gone, Check(ledger, Key, Filled(TimeSpan.Zero, here: false, "here"))); // filled elsewhere
        Assert.Equal(Verdict.Gone, Check(ledger, Key, Filled(TimeSpan.Zero, here: true, "elsewhere"))); // purged elsewhere
    }

    [Fact]
    public void WhatIsOlderThanTheRetention_IsStale_AndForgottenPurgesDoNotComeBack()
    {
        var ledger = Ledger();
        var old = Filled(TimeSpan.FromSeconds(1), tags: "t");
        ledger.Apply(Purge(InvalidationScope.Tag, "t"), here: true);
        _time.Advance(TimeSpan.FromDays(2));
        ledger.Prune();

        Assert.Equal(0, ledger.Count);
        Assert.Equal(Verdict.Stale, ledger.Check(Key, old.Entry, old.FilledHere, out _)); // not vouched for any more: revalidated, not served
        Assert.Equal(Verdict.Valid, Check(ledger, Key, Filled(TimeSpan.FromHours(1), tags: "t")));
    }
}
