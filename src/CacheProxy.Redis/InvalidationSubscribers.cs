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
/// <param name="Replaced">The replaced-entry notice, when it is one.</param>
internal readonly record struct Received(bool Own, InvalidationMessage? Message, string? Released, string? LogId, EntryReplaced? Replaced = null);

/// <summary>
/// The local side of the Redis invalidation bus: the handlers subscribed in this process, and the wire form of what
/// instances tell each other — <c>{instance}\n{type}{soft}\n{time}\n{log id}\n{value}</c>: type K, P, T or A for an
/// invalidation by key, prefix, tag or of everything, X for a replaced entry (<see cref="EntryReplaced"/>), R for a
/// released fill claim (the value is the cache key); soft 1 or 0; the time in UTC ticks; the id of the invalidation log entry holding it (empty for
/// what is not logged). The instance id (random per process) lets an instance know its own messages.
/// </summary>
internal sealed class InvalidationSubscribers(ILogger logger)
{
    private readonly string _instance = Guid.NewGuid().ToString("N");

    /// <summary>Gets this process's instance id (random per process).</summary>
    public string Instance => _instance;
    private readonly Lock _lock = new();
    private Subscription[] _subscriptions = [];

    public void Add(Func<InvalidationMessage, CancellationToken, ValueTask> onInvalidation, Func<EntryReplaced, CancellationToken, ValueTask> onReplaced,
        CancellationToken cancellationToken)
    {
        var subscription = new Subscription(onInvalidation, onReplaced, cancellationToken);
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

    /// <summary>The same message with another log id (null: none, as the log holds it); null when it is not of this format.</summary>
    public static string? WithLogId(string wire, string? logId)
    {
        var third = NthNewline(wire, 3);
        var fourth = third < 0 ? -1 : wire.IndexOf('\n', third + 1);
        return fourth < 0 ? null : string.Concat(wire.AsSpan(0, third + 1), logId, wire.AsSpan(fourth));

        static int NthNewline(string text, int n)
        {
            var at = -1;
            for (var i = 0; i < n && (at = text.IndexOf('\n', at + 1)) >= 0; i++)
            {
            }
            return at;
        }
    }

    public string Encode(EntryReplaced notice) => string.Concat(_instance, "\nX0\n0\n\n", notice.Key);

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
            _ => null,
        };
        if (scope is { } known)
        {
            received = new Received(own, new InvalidationMessage(known, parts[4], parts[1][1] == '1', new DateTimeOffset(ticks, TimeSpan.Zero)), null, logId);
            return true;
        }
        switch (parts[1][0])
        {
            case 'R':
                received = new Received(own, null, parts[4], null);
                return true;
            case 'X':
                received = new Received(own, null, null, null, new EntryReplaced(parts[4]));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Hands an invalidation to every subscriber; a handler that fails is logged, the others still run.</summary>
    public void Deliver(InvalidationMessage message) => Deliver(static (s, m, token) => s.OnInvalidation(m, token), message);

    /// <summary>Hands a replaced-entry notice to every subscriber.</summary>
    public void Deliver(EntryReplaced notice) => Deliver(static (s, n, token) => s.OnReplaced(n, token), notice);

    private void Deliver<T>(Func<Subscription, T, CancellationToken, ValueTask> handle, T value)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (subscription.Token.IsCancellationRequested)
            {
                continue;
            }
            try
            {
                var applying = handle(subscription, value, subscription.Token);
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
        _ => "A",
    };

    private sealed record Subscription(Func<InvalidationMessage, CancellationToken, ValueTask> OnInvalidation,
        Func<EntryReplaced, CancellationToken, ValueTask> OnReplaced, CancellationToken Token);
}
