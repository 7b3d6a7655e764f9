using CacheProxy.Configuration;

namespace CacheProxy.Caching;

/// <summary>Runs every registered <see cref="ICachePolicy"/>, the built-in <see cref="RouteOptionsPolicy"/> first, phase by phase.</summary>
internal sealed class CachePolicies
{
    private readonly ICachePolicy[] _policies;
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;

    public CachePolicies(IEnumerable<ICachePolicy> policies, LastGoodOptions options, TimeProvider time)
    {
        _policies = [.. policies.OrderBy(p => p is RouteOptionsPolicy ? 0 : 1)]; // stable: the others keep registration order
        _options = options;
        _time = time;
    }

    /// <summary>
    /// Step (4) for the stored response the request's lookup found: that response as it stands now
    /// (<see cref="Candidate.At"/>), shown to the serve-from-cache policies, then RFC 9111's verdict
    /// (<see cref="ReuseRules"/>).
    /// </summary>
    public Reuse DecideReuse(CacheContext context)
    {
        var found = context.Lookup;
        context.Consider(Candidate.At(found.Entry!, _options.Current, _time.GetUtcNow(), found.PurgedSince));
        OnServeFromCache(context);
        return ReuseRules.Decide(context);
    }

    public void OnRequest(CacheContext context)
    {
        foreach (var policy in _policies)
        {
            policy.OnRequest(context);
        }
    }

    public void OnServeFromCache(CacheContext context)
    {
        foreach (var policy in _policies)
        {
            policy.OnServeFromCache(context);
        }
    }

    public void OnResponse(CacheContext context)
    {
        foreach (var policy in _policies)
        {
            policy.OnResponse(context);
        }
    }
}

/// <summary>
/// The built-in policy: <c>CacheProxy:Routes:{routeId}</c> (<see cref="RouteCacheOptions"/>). <c>Enabled: false</c>
/// turns caching off for the route; <c>Ttl</c> replaces the freshness lifetime the response's headers give;
/// <c>SetCookie</c> chooses what is done with responses carrying Set-Cookie.
/// </summary>
internal sealed class RouteOptionsPolicy(LastGoodOptions options) : ICachePolicy
{
    public void OnRequest(CacheContext context)
    {
        if (options.Current.Routes.TryGetValue(context.RouteId, out var route) && !route.Enabled)
        {
            context.EnableCaching = false;
        }
    }

    public void OnResponse(CacheContext context)
    {
        if (options.Current.Routes.TryGetValue(context.RouteId, out var route))
        {
            context.FreshnessLifetime = route.Ttl ?? context.FreshnessLifetime;
            context.SetCookie = route.SetCookie ?? context.SetCookie;
        }
    }
}
