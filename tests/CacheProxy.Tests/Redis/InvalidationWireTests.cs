using CacheProxy.Invalidation;
using CacheProxy.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace CacheProxy.Tests.Redis;

/// <summary>The messages instances exchange on the Redis channel, pinned.</summary>
public sealed class InvalidationWireTests
{
    private static (InvalidationSubscribers Bus, List<InvalidationMessage> Heard) Instance()
    {
        var bus = new InvalidationSubscribers(NullLogger.Instance);
        var heard = new List<InvalidationMessage>();
        bus.Add((m, _) =>
        {
            heard.Add(m);
            return default;
        }, CancellationToken.None);
        return (bus, heard);
    }

    [Theory]
    [InlineData(InvalidationScope.Key, "http\u001Fh\u001F/a\u001F", false)]
    [InlineData(InvalidationScope.Prefix, "http\u001Fh\u001F/a", false)]
    [InlineData(InvalidationScope.Tag, "product:7\nwith a newline", true)]
    [InlineData(InvalidationScope.All, "", false)]
    public void EveryMessage_ReachesTheOtherInstance_AsItWasSent(InvalidationScope scope, string value, bool soft)
    {
        var (a, _) = Instance();
        var (b, heard) = Instance();
        var message = new InvalidationMessage(scope, value, soft);

        Assert.Null(b.Receive(a.Encode(message)));

        Assert.Equal(message, Assert.Single(heard));
    }

    [Fact]
    public void AnInstance_SkipsItsOwnMessages()
    {
        var (a, heard) = Instance();

        a.Receive(a.Encode(new InvalidationMessage(InvalidationScope.Key, "k")));
        var released = a.Receive(a.EncodeRelease("k"));

        Assert.Empty(heard);
        Assert.Null(released);
    }

    [Fact]
    public void AReleasedClaim_NamesItsKey_AndIsNoInvalidation()
    {
        var (a, _) = Instance();
        var (b, heard) = Instance();

        Assert.Equal("k", b.Receive(a.EncodeRelease("k")));
        Assert.Empty(heard);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no newline")]
    [InlineData("x\nK")]
    [InlineData("x\nZ0\nvalue")]
    public void AnythingElse_IsIgnored(string wire)
    {
        var (b, heard) = Instance();

        Assert.Null(b.Receive(wire));
        Assert.Empty(heard);
    }
}
