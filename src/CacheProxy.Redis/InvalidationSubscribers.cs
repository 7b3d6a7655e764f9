using System.Globalization;
using CacheProxy.Storage;
using CacheProxy.Invalidation;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Redis;

/// <summary>A message read off the Redis channel or log.</summary>
/// <param name="Own">This instance published it.</param>
/// <param name="Message">The invalidation, when it is one.</param>
/// <param name="Released">The cache key of a released fill claim, when it is one.</param>
/// <param name="LogId">The invalidation log entry that holds it, when it has one.</param>
internal readonly record struct Received(bool Own, InvalidationMessage? Message, string? Released, string? LogId);

/// <summary>
/// The local side of the Redis invalidation bus: the handlers subscribed in this process, and the wire form of what
/// instances tell each other — <c>{instance}\n{type}{soft}\n{time}\n{log id}\n{value}</c>: type K, P, T, A or X for an
/// invalidation by key, prefix, tag, of everything or of a replaced entry, R for a released fill claim (the value is
/// the cache key); soft 1 or 0; the time in UTC ticks; the id of the invalidation log entry holding it (empty for
/// what is not logged). The instance id (random per process) lets an instance know its own messages.
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

    public string Encode(InvalidationMessage message, string? logId = null) =>
        string.Concat(_instance, "\n", Type(message.Scope), message.Soft ? "1" : "0", "\n",
            message.Time.UtcTicks.ToString(CultureInfo.InvariantCulture), "\n", logId, "\n", message.Value);

    public string EncodeRelease(string key) => string.Concat(_instance, "\nR0\n0\n\n", key);

    /// <summary>Reads a message; false for anything not of this format.</summary>
    public bool TryDecode(string wire, out Received received)
    {
        received = default;
        var parts = wire.Split('\n', 5);
        if (parts.Length != 5 || parts[1].Length != 2 || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }
        var own = parts[0] == _instance;
        var logId = parts[3].Length == 0 ? null : parts[3];
        InvalidationScope? scope = parts[1][0] switch
        {
            'K' => InvalidationScope.Key,
            'P' => InvalidationScope.Prefix,
            'T' => InvalidationScope.Tag,
            'A' => InvalidationScope.All,
            'X' => InvalidationScope.Replaced,
            _ => null,
        };
        if (scope is { } known)
        {
            received = new Received(own, new InvalidationMessage(known, parts[4], parts[1][1] == '1', new DateTimeOffset(ticks, TimeSpan.Zero)), null, logId);
            return true;
        }
        if (parts[1][0] == 'R')
        {
            received = new Received(own, null, parts[4], null);
            return true;
        }
        return false;
    }

    /// <summary>Hands a message to every handler; a handler that fails is logged, the others still run.</summary>
    public void Deliver(InvalidationMessage message)
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

    private static string Type(InvalidationScope scope) => scope switch
    {
        InvalidationScope.Key => "K",
        InvalidationScope.Prefix => "P",
        InvalidationScope.Tag => "T",
        InvalidationScope.Replaced => "X",
        _ => "A",
    };

    private sealed record Subscription(Func<InvalidationMessage, CancellationToken, ValueTask> Handler, CancellationToken Token);
}
