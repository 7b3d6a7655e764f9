namespace CacheProxy.Management;

/// <summary>One purge made through this instance's <c>POST /purge</c>, as the dashboard and <c>/stats</c> show it.</summary>
internal sealed record PurgeRecord(DateTimeOffset Time, string Caller, int Urls, int Tags, int Prefixes, bool Soft, int RemovedHere, bool? Published);

/// <summary>The last <see cref="Capacity"/> purges made through this instance (not those heard from others), newest first.</summary>
internal sealed class RecentPurges
{
    public const int Capacity = 20;
    private readonly Lock _gate = new();
    private readonly LinkedList<PurgeRecord> _records = new();

    public void Add(PurgeRecord record)
    {
        lock (_gate)
        {
            _records.AddFirst(record);
            if (_records.Count > Capacity)
            {
                _records.RemoveLast();
            }
        }
    }

    public IReadOnlyList<PurgeRecord> List()
    {
        lock (_gate)
        {
            return [.. _records];
        }
    }
}
