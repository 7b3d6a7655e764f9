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
}
