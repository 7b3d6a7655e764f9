namespace CacheProxy.Caching;

/// <summary>
/// Step (4) on the full path: the lookup (<see cref="CacheLookup"/>), taken whole by the context, then — when it
/// found a stored response — the reuse decision (<see cref="CachePolicies.DecideReuseAsync"/>). The same for a first look
/// and for a look again after waiting for another fetch.
/// </summary>
internal sealed class ReuseLookup(CacheLookup lookup, CachePolicies policies)
{
    /// <summary>What may be done with the stored response found for <paramref name="context"/> (its key set); null when none was found.</summary>
    // Not async: a lookup and policies that complete at once (the memory tier, no awaiting policy) cost no frame here.
    public ValueTask<Reuse?> FindAsync(CacheContext context)
    {
        var finding = lookup.FindAsync(context);
        return finding.IsCompletedSuccessfully ? Decide(context, finding.Result) : FoundAsync(finding, context);
    }

    private async ValueTask<Reuse?> FoundAsync(ValueTask<Lookup> finding, CacheContext context) => await Decide(context, await finding);

    private ValueTask<Reuse?> Decide(CacheContext context, Lookup found)
    {
        context.Looked(found);
        if (found.Entry is null)
        {
            return new((Reuse?)null);
        }
        var reuse = policies.DecideReuseAsync(context);
        return reuse.IsCompletedSuccessfully ? new(reuse.Result) : AwaitAsync(reuse);

        static async ValueTask<Reuse?> AwaitAsync(ValueTask<Reuse> reuse) => await reuse;
    }
}
