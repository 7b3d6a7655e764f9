using CacheProxy.Invalidation;
using CacheProxy.Storage;
using CacheProxy.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheProxy.Tests.Redis;

/// <summary>The messages instances exchange on the Redis channel and log, pinned.</summary>
public sealed class InvalidationWireTests
{
    private static readonly DateTimeOffset When = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static InvalidationSubscribers Instance() => new(NullLogger.Instance);

    [Theory]
    [InlineData(InvalidationScope.Key, "http\u001Fh\u001F/a\u001F", false)]
    [InlineData(InvalidationScope.Prefix, "http\u001Fh\u001F/a", false)]
    [InlineData(InvalidationScope.Tag, "product:7\nwith a newline", true)]
    [InlineData(InvalidationScope.All, "", true)]
    public void EveryMessage_ReachesTheOtherInstance_AsItWasSent(InvalidationScope scope, string value, bool soft)
    {
        var message = new InvalidationMessage(scope, value, soft, When);

        Assert.True(Instance().TryDecode(Instance().Encode(message, "1700000000000-3"), out var received));

        Assert.Equal(new Received(false, message, null, "1700000000000-3"), received);
    }

    [Fact]
    public void AReplacedEntryNotice_ReachesTheOtherInstance_AsNoInvalidation()
    {
        var notice = new EntryReplaced("http\u001Fh\u001F/a\u001F");

        Assert.True(Instance().TryDecode(Instance().Encode(notice), out var received));

        Assert.Equal(new Received(false, null, null, null, notice), received);
    }

    [Fact]
    public void AnInstance_KnowsItsOwnMessages()
    {
        var a = Instance();

        Assert.True(a.TryDecode(a.Encode(new InvalidationMessage(InvalidationScope.Key, "k", Time: When)), out var own));
        Assert.True(own.Own);
        Assert.Null(own.LogId);
    }

    [Fact]
    public void AReleasedClaim_NamesItsKey_AndIsNoInvalidation()
    {
        Assert.True(Instance().TryDecode(Instance().EncodeRelease("k"), out var received));

        Assert.Equal("k", received.Released);
        Assert.Null(received.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no newline")]
    [InlineData("x\nK0\nnot ticks\n\nk")]
    [InlineData("x\nZ0\n1\n\nvalue")]
    [InlineData("x\nK\n1\n\nk")]
    public void AnythingElse_IsNotDecoded(string wire)
    {
        Assert.False(Instance().TryDecode(wire, out _));
    }

    [Fact]
    public void HandlersHearEveryDeliveredMessage_UntilTheirSubscriptionEnds()
    {
        var bus = Instance();
        var heard = new List<InvalidationMessage>();
        using var subscription = new CancellationTokenSource();
        bus.Add((m, _) =>
        {
            heard.Add(m);
            return default;
        }, (_, _) => default, subscription.Token);

        bus.Deliver(new InvalidationMessage(InvalidationScope.Tag, "t1", Time: When));
        subscription.Cancel();
        bus.Deliver(new InvalidationMessage(InvalidationScope.Tag, "t2", Time: When));

        Assert.Equal(["t1"], heard.Select(m => m.Value));
    }

    [Fact]
    public void AMessageMovedToAnotherLogEntry_KeepsEverythingButItsId()
    {
        var message = new InvalidationMessage(InvalidationScope.Tag, "t1\nwith\nnewlines", true, When);
        var sender = Instance();

        var moved = InvalidationSubscribers.WithLogId(sender.Encode(message, "1-1"), "2-5")!;

        Assert.True(Instance().TryDecode(moved, out var received));
        Assert.Equal(new Received(false, message, null, "2-5"), received);
        Assert.Equal(sender.Encode(message), InvalidationSubscribers.WithLogId(moved, null));
        Assert.Null(InvalidationSubscribers.WithLogId("no\nfields", "1-1"));
    }

    [Fact]
    public void TheJournal_VouchesForEverythingAfterWhatItDroppedForRoom()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(When);
        var ms = When.ToUnixTimeMilliseconds();
        var journal = new InvalidationJournal(capacity: 3, TimeSpan.FromDays(1), time);
        for (var i = 1; i <= 4; i++)
        {
            journal.Add(new LogId(ms, i), "m" + i);
        }

        Assert.Equal(new LogId(ms, 1), journal.CompleteAfter); // m1 made room for m4
        Assert.Equal(["m3", "m4"], journal.After(new LogId(ms, 2)));
        Assert.Equal(new LogId(ms, 4), journal.Newest);
    }

    [Fact]
    public void TheJournal_HoldsAPutBackMessageOnce_UnderItsNewId()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(When);
        var ms = When.ToUnixTimeMilliseconds();
        var journal = new InvalidationJournal(capacity: 10, TimeSpan.FromDays(1), time);
        journal.Add(new LogId(ms, 1), "m1");
        journal.Add(new LogId(ms, 2), "m2");

        journal.Add(new LogId(ms + 5, 0), "m1");
        journal.Add(new LogId(ms, 1), "m1"); // heard late under the old id: changes nothing

        Assert.Equal(["m2", "m1"], journal.After(LogId.Zero));
        Assert.Equal(new LogId(ms + 5, 0), journal.Newest);
        Assert.Equal(LogId.Zero, journal.CompleteAfter);
    }

    [Fact]
    public void TheJournal_ForgetsWhatIsPastRetention_WithoutClaimingAGap()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(When);
        var journal = new InvalidationJournal(capacity: 10, TimeSpan.FromHours(1), time);
        journal.Add(new LogId(When.ToUnixTimeMilliseconds(), 0), "old");
        time.Advance(TimeSpan.FromHours(2));

        journal.Add(new LogId(time.GetUtcNow().ToUnixTimeMilliseconds(), 0), "new");

        Assert.Equal(["new"], journal.After(LogId.Zero));
        Assert.Equal(LogId.Zero, journal.CompleteAfter); // a purge older than retention no longer matters
    }

    [Theory]
    [InlineData("1700000000000-3", true)]
    [InlineData("1700000000000", false)]
    [InlineData("-3", false)]
    [InlineData("x-3", false)]
    [InlineData("1-+3", false)]
    public void ALogIdFromTheChannel_IsReadOnlyWhenItIsOne(string text, bool valid)
    {
        Assert.Equal(valid, LogId.TryParse(text, out _));
    }
}
