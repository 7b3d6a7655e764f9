using CacheProxy.Configuration;

namespace CacheProxy.Cdn;

/// <summary>
/// The outbox without Redis: in this process, so forwardings not yet delivered are lost with it (a restart, a
/// crash). Bounded: at most <see cref="CdnOptions.MaxPending"/> forwardings wait; the last
/// <see cref="Remembered"/> finished ones are kept for <c>GET /purge/forwarding</c>.
/// </summary>
internal sealed class MemoryCdnPurgeOutbox(LastGoodOptions options, TimeProvider time) : ICdnPurgeOutbox
{
    public const int Remembered = 1000;

    private readonly Lock _lock = new();
    private readonly LinkedList<Item> _order = new(); // oldest first
    private readonly Dictionary<string, LinkedListNode<Item>> _items = new(StringComparer.Ordinal);
    private int _pending;
    private int _finished;

    public ValueTask<bool> AddAsync(CdnPurge purge, IReadOnlyList<string> providers, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_pending >= options.Current.Cdn.MaxPending || _items.ContainsKey(purge.Id))
            {
                return new(false);
            }
            var item = new Item(purge, providers.ToDictionary(p => p, p => new Delivery { NextAttempt = now }, StringComparer.OrdinalIgnoreCase));
            _items[purge.Id] = _order.AddLast(item);
            _pending++;
        }
        return new(true);
    }

    public ValueTask<CdnDelivery?> ClaimAsync(string provider, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            foreach (var item in _order)
            {
                if (item.Deliveries.TryGetValue(provider, out var delivery) && delivery.State == CdnDeliveryState.Pending && delivery.NextAttempt <= now
                    && delivery.LeaseUntil <= now)
                {
                    delivery.Attempts++;
                    delivery.LeaseUntil = now + lease;
                    delivery.Claim = Guid.NewGuid().ToString("N");
                    return new(new CdnDelivery(delivery.Remaining ?? item.Purge, provider, delivery.Attempts, delivery.Claim));
                }
            }
        }
        return new((CdnDelivery?)null);
    }

    public ValueTask<bool> SettleAsync(CdnDelivery delivery, CdnDeliveryUpdate update, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_items.TryGetValue(delivery.Purge.Id, out var node) || !node.Value.Deliveries.TryGetValue(delivery.Provider, out var held)
                || held.Claim != delivery.Claim || held.State != CdnDeliveryState.Pending)
            {
                return new(false);
            }
            held.Claim = null;
            held.LeaseUntil = DateTimeOffset.MinValue;
            held.State = update.State;
            held.Updated = now;
            held.Detail = update.Detail;
            if (update.State == CdnDeliveryState.Pending)
            {
                held.NextAttempt = update.NextAttempt ?? now;
                held.Remaining = update.Remaining ?? held.Remaining;
                return new(true);
            }
            held.Remaining = null;
            if (node.Value.Deliveries.Values.All(d => d.State != CdnDeliveryState.Pending))
            {
                _pending--;
                _finished++;
                node.Value.Finished = true;
                Forget();
            }
        }
        return new(true);
    }

    /// <summary>Drops the oldest finished forwardings past <see cref="Remembered"/>.</summary>
    private void Forget()
    {
        for (var node = _order.First; node is not null && _finished > Remembered;)
        {
            var next = node.Next;
            if (node.Value.Finished)
            {
                _order.Remove(node);
                _items.Remove(node.Value.Purge.Id);
                _finished--;
            }
            node = next;
        }
    }

    public ValueTask<CdnForwarding?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return new(_items.TryGetValue(id, out var node) ? node.Value.Snapshot() : null);
        }
    }

    public ValueTask<IReadOnlyList<CdnForwarding>> ListAsync(CdnDeliveryState state, int max, CancellationToken cancellationToken)
    {
        var list = new List<CdnForwarding>();
        lock (_lock)
        {
            for (var node = _order.Last; node is not null && list.Count < max; node = node.Previous)
            {
                if (node.Value.Deliveries.Values.Any(d => d.State == state))
                {
                    list.Add(node.Value.Snapshot());
                }
            }
        }
        return new(list);
    }

    private sealed class Delivery
    {
        public CdnDeliveryState State { get; set; }

        public int Attempts { get; set; }

        public DateTimeOffset? Updated { get; set; }

        public DateTimeOffset NextAttempt { get; set; }

        public DateTimeOffset LeaseUntil { get; set; } = DateTimeOffset.MinValue;

        public string? Claim { get; set; }

        public string? Detail { get; set; }

        public CdnPurge? Remaining { get; set; }
    }

    private sealed record Item(CdnPurge Purge, Dictionary<string, Delivery> Deliveries)
    {
        public bool Finished { get; set; }

        public CdnForwarding Snapshot() => new(Purge, [.. Deliveries.Select(d => new CdnDeliveryStatus(d.Key, d.Value.State, d.Value.Attempts, d.Value.Updated,
            d.Value.State == CdnDeliveryState.Pending ? d.Value.NextAttempt : null, d.Value.Detail))]);
    }
}
