using CacheProxy.Invalidation;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Redis;

/// <summary>
/// The local side of the Redis invalidation bus: the handlers subscribed in this process, and the wire form of a
/// message on the channel — <c>{instance}\n{type}{soft}\n{value}</c>: type K, P, T or A for an invalidation by key,
/// prefix, tag or of everything, R for a released fill claim (the value is the cache key); soft 1 or 0. The instance
/// id (random per process) lets an instance skip its own messages.
/// </summary>
internal sealed class InvalidationSubscribers(ILogger logger)
{
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly Lock _lock = new();
    private Subscription[] _subscriptions = [];

    public void Add(Func<InvalidationMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(handler, cancellationToken);
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }
        cancellationToken.Register(() =>
        {
            lock (_lock)
            {
                _subscriptions = [.. _subscriptions.Where(s => s != subscription)];
            }
        });
    }

    public string Encode(InvalidationMessage message) =>
        string.Concat(_instance, "\n", Scope(message.Scope), message.Soft ? "1" : "0", "\n", message.Value);

    public string EncodeRelease(string key) => string.Concat(_instance, "\nR0\n", key);

    /// <summary>
    /// Takes a message from the channel: an invalidation goes to every handler; a released claim's key is returned.
    /// This instance's own messages and anything not of this format are skipped.
    /// </summary>
    public string? Receive(string wire)
    {
        var first = wire.IndexOf('\n', StringComparison.Ordinal);
        if (first < 0 || wire.Length < first + 4 || wire[first + 3] != '\n' || wire.AsSpan(0, first).SequenceEqual(_instance))
        {
            return null;
        }
        var value = wire[(first + 4)..];
        InvalidationScope? scope = wire[first + 1] switch
        {
            'K' => InvalidationScope.Key,
            'P' => InvalidationScope.Prefix,
            'T' => InvalidationScope.Tag,
            'A' => InvalidationScope.All,
            _ => null,
        };
        if (scope is { } known)
        {
            Deliver(new InvalidationMessage(known, value, wire[first + 2] == '1'));
            return null;
        }
        return wire[first + 1] == 'R' ? value : null;
    }

    /// <summary>Messages may have been lost (the subscription dropped): every handler hears <see cref="InvalidationScope.All"/>.</summary>
    public void MayHaveMissed() => Deliver(new InvalidationMessage(InvalidationScope.All, string.Empty));

    private void Deliver(InvalidationMessage message)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (subscription.Token.IsCancellationRequested)
            {
                continue;
            }
            try
            {
                var applying = subscription.Handler(message, subscription.Token);
                if (!applying.IsCompletedSuccessfully)
                {
                    _ = ObserveAsync(applying);
                }
            }
            catch (Exception ex)
            {
                Log.InvalidationHandlerFailed(logger, ex);
            }
        }
    }

    private async Task ObserveAsync(ValueTask applying)
    {
        try
        {
            await applying;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.InvalidationHandlerFailed(logger, ex);
        }
    }

    private static string Scope(InvalidationScope scope) => scope switch
    {
        InvalidationScope.Key => "K",
        InvalidationScope.Prefix => "P",
        InvalidationScope.Tag => "T",
        _ => "A",
    };

    private sealed record Subscription(Func<InvalidationMessage, CancellationToken, ValueTask> Handler, CancellationToken Token);
}
