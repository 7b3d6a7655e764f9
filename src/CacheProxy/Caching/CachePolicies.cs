using CacheProxy.Configuration;

namespace CacheProxy.Caching;

/// <summary>Runs every registered <see cref="ICachePolicy"/>, the built-in <see cref="RouteOptionsPolicy"/> first, phase by phase.</summary>
internal sealed class CachePolicies
{
    private readonly ICachePolicy[] _policies;
    private readonly LastGoodOptions _options;

    /// <summary>Policies of the app's beside the built-in one: only then is the request's abort token read (Kestrel makes one per request when asked).</summary>
    private readonly bool _appPolicies;

    public CachePolicies(IEnumerable<ICachePolicy> policies, LastGoodOptions options)
    {
        _policies = [.. policies.OrderBy(p => p is RouteOptionsPolicy ? 0 : 1)]; // stable: the others keep registration order
        _appPolicies = _policies.Any(p => p is not RouteOptionsPolicy);
        _options = options;
    }

    /// <summary>
    /// Step (4) for the stored response the request's lookup found: that response as it stands now
    /// (<see cref="Candidate.At(Storage.StoredEntry, Configuration.CacheProxyOptions, DateTimeOffset, DateTimeOffset?)"/>) at
    /// the instant the store answered (<see cref="Lookup.At"/>), shown to the serve-from-cache policies, then RFC 9111's verdict
    /// (<see cref="ReuseRules"/>). Completes synchronously unless a policy awaits.
    /// </summary>
    public ValueTask<Reuse> DecideReuseAsync(CacheContext context)
    {
        ref readonly var found = ref context.Lookup;
        System.Diagnostics.Debug.Assert(found.At != default, "every lookup that finds an entry says when");
        context.Consider(Candidate.At(found.Entry!, _options.Current, found.At, found.PurgedSince));
        if (!_appPolicies)
        {
            return new(ReuseRules.Decide(context)); // the built-in policy has no serve-from-cache phase
        }
        var phase = RunAsync(context, Phase.ServeFromCache);
        if (!phase.IsCompletedSuccessfully)
        {
            return AfterAsync(phase, context);
        }
        phase.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        return new(ReuseRules.Decide(context));

        static async ValueTask<Reuse> AfterAsync(ValueTask phase, CacheContext context)
        {
            await phase;
            return ReuseRules.Decide(context);
        }
    }

    /// <summary>The request phase of every policy.</summary>
    public ValueTask OnRequestAsync(CacheContext context) => RunAsync(context, Phase.Request);

    /// <summary>The response phase of every policy.</summary>
    public ValueTask OnResponseAsync(CacheContext context) => RunAsync(context, Phase.Response);

    private enum Phase
    {
        Request,
        ServeFromCache,
        Response,
    }

    /// <summary>Runs one phase of every policy in order; synchronously while each completes at once.</summary>
    private ValueTask RunAsync(CacheContext context, Phase phase)
    {
        var token = _appPolicies ? context.HttpContext.RequestAborted : CancellationToken.None;
        for (var i = 0; i < _policies.Length; i++)
        {
            var pending = Run(_policies[i], context, phase, token);
            if (!pending.IsCompletedSuccessfully)
            {
                return RestAsync(pending, i + 1, context, phase, token);
            }
            pending.GetAwaiter().GetResult();
        }
        return default;
    }

    private async ValueTask RestAsync(ValueTask pending, int next, CacheContext context, Phase phase, CancellationToken token)
    {
        await pending;
        for (var i = next; i < _policies.Length; i++)
        {
            await Run(_policies[i], context, phase, token);
        }
    }

    private static ValueTask Run(ICachePolicy policy, CacheContext context, Phase phase, CancellationToken token) => phase switch
    {
        Phase.Request => policy.OnRequestAsync(context, token),
        Phase.ServeFromCache => policy.OnServeFromCacheAsync(context, token),
        _ => policy.OnResponseAsync(context, token),
    };
}

/// <summary>
/// The built-in policy: <c>CacheProxy:Routes:{routeId}</c> (<see cref="RouteCacheOptions"/>). <c>Enabled: false</c>
/// turns caching off for the route; <c>Ttl</c> replaces the freshness lifetime the response's headers give;
/// <c>SetCookie</c> chooses what is done with responses carrying Set-Cookie.
/// </summary>
internal sealed class RouteOptionsPolicy(LastGoodOptions options) : ICachePolicy
{
    public ValueTask OnRequestAsync(CacheContext context, CancellationToken cancellationToken)
    {
        if (options.Current.Routes.TryGetValue(context.RouteId, out var route) && !route.Enabled)
        {
            context.EnableCaching = false;
        }
        return default;
    }

    public ValueTask OnResponseAsync(CacheContext context, CancellationToken cancellationToken)
    {
        if (options.Current.Routes.TryGetValue(context.RouteId, out var route))
        {
            context.FreshnessLifetime = route.Ttl ?? context.FreshnessLifetime;
            context.SetCookie = route.SetCookie ?? context.SetCookie;
        }
        return default;
    }
}
