namespace CacheProxy.Caching;

/// <summary>
/// Step (4) on the full path: the lookup (<see cref="CacheLookup"/>), taken whole by the context, then — when it
/// found a stored response — the reuse decision (<see cref="CachePolicies.DecideReuseAsync"/>). The same for a first look
/// and for a look again after waiting for another fetch.
/// </summary>
internal sealed class ReuseLookup(CacheLookup lookup, CachePolicies policies)
{
    /// <summary>What may be done with the stored response found for <paramref name="context"/> (its key set); null when none was found.</summary>
    public async ValueTask<Reuse?> FindAsync(CacheContext context)
    {
        context.Looked(await lookup.FindAsync(context));
        return context.Lookup.Entry is null ? null : await policies.DecideReuseAsync(context);
    }
}
