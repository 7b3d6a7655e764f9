using System.Collections.Concurrent;
using System.Globalization;
using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Caching;

/// <summary>The RFC 9111 shared cache in front of the proxied endpoint.</summary>
internal sealed class CacheEngine
{
    private static readonly string[] AgeStrings = CreateAgeStrings(1024);

    private readonly ICacheStore _store;
    private readonly OptionsSnapshot _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheProxyMetrics _metrics;
    private readonly string _storeTier;
    private readonly IServiceScopeFactory _scopes;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _flights = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    private readonly ICacheFillCoordinator? _coordinator;
    private readonly MemoryCacheStore? _memory;
    private readonly EarlyHits? _earlyHits;

    public CacheEngine(ICacheStore store, IOptionsMonitor<CacheProxyOptions> options, TimeProvider time,
        ILoggerFactory loggers, CacheProxyMetrics metrics, IServiceScopeFactory scopes, ICacheFillCoordinator? coordinator = null,
        EarlyHits? earlyHits = null)
    {
        _earlyHits = earlyHits;
        _coordinator = coordinator;
        _store = store;
        _memory = store switch
        {
            MemoryCacheStore memory => memory,
            TieredCacheStore tiered => tiered.Memory,
            _ => null,
        };
        _options = new OptionsSnapshot(options);
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Cache);
        _metrics = metrics;
        _storeTier = store is MemoryCacheStore ? "memory" : store.GetType().Name.ToLowerInvariant();
        _scopes = scopes;
    }

    internal event Action<string>? RefreshCompleted;

    private int _collapsedWaiters;

    /// <summary>Requests waiting now for a concurrent identical miss; tests use it as their signal.</summary>
    internal int CollapsedWaiters => Volatile.Read(ref _collapsedWaiters);

    public Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        // Only proxied routes are cached; the app's own endpoints pass untouched.
        var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>();
        if (route is null)
        {
            return next(context);
        }
        var options = _options.CurrentValue;
        var routeId = route.Config.RouteId;
        options.Routes.TryGetValue(routeId, out var policy);
        var method = context.Request.Method;
        if (policy is { Enabled: false })
        {
            return PassThroughAsync(context, next, routeId, "fwd=bypass; detail=route-disabled");
        }
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return HandleReadAsync(context, next, options, policy, routeId);
        }
        if (HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method) || HttpMethods.IsConnect(method))
        {
            return PassThroughAsync(context, next, routeId, "fwd=method");
        }
        _metrics.Request(routeId, CacheOutcome.Bypass);
        return HandleUnsafeAsync(context, next, routeId);
    }

    /// <summary>
    /// The common case, answered without async frames, lookup span or request log scope: a GET or HEAD of a cached
    /// route whose fresh response is in the memory tier. Null when the request needs <see cref="HandleAsync"/>, which
    /// also takes every request while a listener of CacheProxy spans wants to see lookups.
    /// </summary>
    public Task? TryServeFreshHit(HttpContext context)
    {
        if (!TryFindFreshHit(context, context.GetEndpoint(), out var hit))
        {
            return null;
        }
        if (HttpMethods.IsGet(context.Request.Method))
        {
            _earlyHits?.Stamp(hit.Entry, hit.Endpoint); // a routed GET: later ones for this entry may skip routing
        }
        return ServeFreshHit(context, hit);
    }

    /// <summary>
    /// Before routing (<see cref="CacheProxyOptions.ServeHitsBeforeRouting"/>): a GET whose fresh memory-tier
    /// response was last served through a route that <see cref="EarlyHits"/> stamped for the current endpoints.
    /// </summary>
    internal bool TryFindEarlyHit(HttpContext context, out FreshHit hit)
    {
        hit = default;
        return _earlyHits is not null && TryFindFreshHit(context, routed: null, out hit);
    }

    /// <summary>A fresh memory-tier response found for a request, with the endpoint it belongs to.</summary>
    internal readonly record struct FreshHit(CacheEntry Entry, StoredPolicy Policy, TimeSpan Age, string RouteId, Endpoint Endpoint, long Started);

    // routed: the endpoint routing chose, or null before routing, when the entry's stamp names it.
    private bool TryFindFreshHit(HttpContext context, Endpoint? routed, out FreshHit hit)
    {
        hit = default;
        if (_memory is null || CacheProxyTelemetry.ActivitySource.HasListeners())
        {
            return false;
        }
        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || (routed is not null && routed.Metadata.GetMetadata<RouteModel>() is null))
        {
            return false;
        }
        var requestCc = CacheControl.Parse(request.Headers.CacheControl);
        if (requestCc.NoCache || (!requestCc.Present && PragmaNoCache(request.Headers.Pragma)))
        {
            return false;
        }
        // The key is looked up from the stack; a string is made only for a long URL or a Vary rule.
        Span<char> buffer = stackalloc char[256];
        var length = CacheKey.TryWrite(request, buffer);
        if (length < 0)
        {
            return false;
        }
        var key = length > buffer.Length ? CacheKey.Build(request)! : null;
        var started = _time.GetTimestamp();
        var entry = key is null ? _memory.Get(buffer[..length]) : _memory.Get(key);
        if (entry is { Kind: CacheEntryKind.VaryRule })
        {
            key ??= new string(buffer[..length]);
            entry = entry.VaryHeaderNames is not null && VariantSuffix(request, entry.VaryHeaderNames, out var suffix)
                ? _memory.Get(VariantKey(key, entry.VaryGeneration!, suffix))
                : null;
        }
        if (entry is not { Kind: CacheEntryKind.Response }
            || (routed ?? _earlyHits?.EndpointFor(entry)) is not { } endpoint
            || endpoint.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            return false;
        }
        var options = _options.CurrentValue;
        var routeId = route.Config.RouteId;
        if (options.Routes.TryGetValue(routeId, out var routePolicy) && !routePolicy.Enabled)
        {
            return false;
        }
        var policy = StoredPolicy.For(entry, options);
        var age = policy.CurrentAge(entry, _time.GetUtcNow());
        if (!CanReuse(policy, age, requestCc, requestNoCache: false, out var stale) || stale)
        {
            return false;
        }
        hit = new FreshHit(entry, policy, age, routeId, endpoint, started);
        return true;
    }

    internal Task ServeFreshHit(HttpContext context, in FreshHit hit)
    {
        if (_logger.IsEnabled(LogLevel.Debug) && context.Features.Get<ICorrelationIdFeature>() is { } correlation)
        {
            using (_logger.BeginScope(correlation)) // the scope the full path's events have
            {
                Log.CacheHit(_logger, hit.RouteId, CacheKey.Hash(CacheKey.Build(context.Request)!));
            }
        }
        ValueTask write;
        try
        {
            write = WriteStoredAsync(context, hit.RouteId, hit.Entry, hit.Policy, hit.Age, "hit");
        }
        catch (Exception ex)
        {
            return Task.FromException(ex); // the callers' error shaping answers for it, as for a failed write
        }
        if (!write.IsCompletedSuccessfully)
        {
            return RecordHitAfterAsync(write, hit.RouteId, hit.Started);
        }
        write.GetAwaiter().GetResult(); // a finished ValueTask is consumed once
        RecordHit(hit.RouteId, hit.Started);
        return Task.CompletedTask;
    }

    private async Task RecordHitAfterAsync(ValueTask write, string routeId, long started)
    {
        await write;
        RecordHit(routeId, started);
    }

    private Task PassThroughAsync(HttpContext context, RequestDelegate next, string routeId, string status)
    {
        _metrics.Request(routeId, CacheOutcome.Bypass);
        AppendStatusOnStart(context, status);
        return TimedUpstreamAsync(context, next, routeId);
    }

    /// <summary>Calls upstream for requests the cache does not handle, recording the upstream duration.</summary>
    private async Task TimedUpstreamAsync(HttpContext context, RequestDelegate next, string routeId)
    {
        var started = _time.GetTimestamp();
        await next(context);
        RecordUpstream(context, routeId, started, context.Response.StatusCode);
    }

    private void RecordUpstream(HttpContext context, string routeId, long started, int status)
    {
        if (_metrics.UpstreamDuration.Enabled)
        {
            var failed = context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None };
            _metrics.UpstreamDuration.Record(_time.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("route", routeId),
                new KeyValuePair<string, object?>("status_class", failed ? "error" : CacheProxyMetrics.StatusClass(status)));
        }
    }

    // RFC 9111 §4.4: a non-error response to an unsafe (or unknown) method invalidates the target URI and the
    // same-origin Location / Content-Location. Done before the response starts, so a client that reads the
    // response and asks again cannot see the old entry.
    private Task HandleUnsafeAsync(HttpContext context, RequestDelegate next, string routeId)
    {
        context.Response.OnStarting(static async state =>
        {
            var (engine, ctx) = ((CacheEngine, HttpContext))state;
            var status = ctx.Response.StatusCode;
            ctx.Response.Headers.Append(CacheProxyHeaderNames.CacheStatus, $"{engine._options.CurrentValue.CacheStatusName}; fwd=bypass; detail=method");
            if (status is < 200 or >= 400)
            {
                return;
            }
            await engine.InvalidateAsync(CacheKey.Build(ctx.Request), ctx);
            await engine.InvalidateAsync(ctx.Response.Headers.Location is { Count: > 0 } l ? CacheKey.BuildForUri(ctx.Request, l[0]!) : null, ctx);
            await engine.InvalidateAsync(ctx.Response.Headers.ContentLocation is { Count: > 0 } c ? CacheKey.BuildForUri(ctx.Request, c[0]!) : null, ctx);
        }, (this, context));
        return TimedUpstreamAsync(context, next, routeId);
    }

    private async Task InvalidateAsync(string? key, HttpContext context)
    {
        if (key is null)
        {
            return;
        }
        try
        {
            await _store.RemoveAsync(key, CancellationToken.None);
            Log.Invalidated(_logger, CacheKey.Hash(key), context.Request.Method, context.Response.StatusCode);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            StoreFailed("remove", key, ex, write: true);
        }
    }

    private void StoreFailed(string operation, string key, Exception ex, bool write)
    {
        _metrics.StoreFailures.Add(1, new KeyValuePair<string, object?>("tier", _storeTier), new KeyValuePair<string, object?>("operation", operation));
        _metrics.Error(ErrorCategory.Store);
        if (write)
        {
            Log.StoreWriteFailed(_logger, CacheKey.Hash(key), ex);
        }
        else
        {
            Log.StoreReadFailed(_logger, CacheKey.Hash(key), ex);
        }
    }

    private async Task HandleReadAsync(HttpContext context, RequestDelegate next, CacheProxyOptions options, RouteCachePolicy? route, string routeId)
    {
        var request = context.Request;
        var requestCc = CacheControl.Parse(request.Headers.CacheControl);
        // RFC 9111 §5.4: Pragma: no-cache counts as no-cache only when Cache-Control is absent.
        var requestNoCache = requestCc.NoCache || (!requestCc.Present && PragmaNoCache(request.Headers.Pragma));
        var key = CacheKey.Build(request);
        if (key is null)
        {
            await PassThroughAsync(context, next, routeId, "fwd=bypass; detail=uncacheable-key");
            return;
        }
        var started = _time.GetTimestamp();

        var (entry, ruleFound) = await LookupAsync(key, request);
        var isGet = HttpMethods.IsGet(request.Method);
        if (entry is not null)
        {
            var now = _time.GetUtcNow();
            var policy = StoredPolicy.For(entry, options);
            var age = policy.CurrentAge(entry, now);
            if (CanReuse(policy, age, requestCc, requestNoCache, out var stale))
            {
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    Log.CacheHit(_logger, routeId, CacheKey.Hash(key)); // hashing only when someone reads it
                }
                await WriteStoredAsync(context, routeId, entry, policy, age, stale ? "hit; detail=max-stale" : "hit");
                RecordHit(routeId, started);
                return;
            }
            if (requestCc.OnlyIfCached)
            {
                NotCached(context, routeId, options);
                return;
            }
            var staleness = age - policy.Lifetime;
            if (!requestNoCache && !policy.NoCache && !policy.NoStaleServing && policy.StaleWhileRevalidate >= 0
                && staleness <= Freshness.Seconds(policy.StaleWhileRevalidate))
            {
                // RFC 5861 §3: serve stale now, refresh once in the background.
                StartBackgroundRefresh(context, next, key, routeId, entry, route);
                await WriteStoredAsync(context, routeId, entry, policy, age, "hit; detail=stale-while-revalidate");
                _metrics.Request(routeId, CacheOutcome.Stale);
                return;
            }
            var staleKeyHash = CacheKey.Hash(key);
            Log.CacheMiss(_logger, "stale", routeId, staleKeyHash);
            await ForwardAsync(context, next, new CacheExchange
            {
                Context = context,
                Key = key,
                KeyHash = staleKeyHash,
                RouteId = routeId,
                Route = route,
                RequestCacheControl = requestCc,
                ForwardReason = requestNoCache ? "request" : "stale",
                Stale = entry,
            });
            return;
        }

        if (requestCc.OnlyIfCached)
        {
            NotCached(context, routeId, options);
            return;
        }

        var reason = ruleFound ? "vary-miss" : "miss";
        var keyHash = CacheKey.Hash(key);
        Log.CacheMiss(_logger, reason, routeId, keyHash);
        if (isGet && !requestCc.NoStore)
        {
            // Request collapsing: one upstream request per key; the others wait for its stored response.
            var flight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var leader = _flights.GetOrAdd(key, flight);
            if (leader != flight)
            {
                if (await WaitForFlightAsync(leader.Task, options, keyHash, context.RequestAborted))
                {
                    if (await ServeCollapsedAsync(context, routeId, key, requestCc, requestNoCache, options, started))
                    {
                        return;
                    }
                }
                else
                {
                    _metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "timeout"));
                }
                await ForwardAsync(context, next, NewExchange(context, key, keyHash, routeId, route, requestCc, reason));
                return;
            }
            try
            {
                // Across instances: claim the fetch, or wait for the instance that holds the claim and serve what it stored.
                var claim = _coordinator is null ? null : await _coordinator.TryClaimAsync(key, options.CollapseTimeout, CancellationToken.None);
                if (_coordinator is not null && claim is null
                    && await AnswerAfterOtherInstanceAsync(context, routeId, key, keyHash, requestCc, requestNoCache, options, started))
                {
                    return;
                }
                try
                {
                    await ForwardAsync(context, next, NewExchange(context, key, keyHash, routeId, route, requestCc, reason));
                }
                finally
                {
                    if (claim is not null)
                    {
                        await claim.DisposeAsync();
                    }
                }
            }
            finally
            {
                _flights.TryRemove(new KeyValuePair<string, TaskCompletionSource>(key, flight));
                flight.TrySetResult();
            }
            return;
        }
        await ForwardAsync(context, next, NewExchange(context, key, keyHash, routeId, route, requestCc, reason));
    }

    /// <summary>
    /// Another instance holds the claim on this key: wait (bounded) for it to store the response and serve that.
    /// Returns false when this instance must go upstream itself.
    /// </summary>
    private async Task<bool> AnswerAfterOtherInstanceAsync(HttpContext context, string routeId, string key, string keyHash,
        CacheControl requestCc, bool requestNoCache, CacheProxyOptions options, long started)
    {
        Interlocked.Increment(ref _collapsedWaiters);
        bool released;
        try
        {
            released = await _coordinator!.WaitForReleaseAsync(key, options.CollapseTimeout, CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref _collapsedWaiters);
        }
        if (!released)
        {
            Log.CollapseWaitTimedOut(_logger, options.CollapseTimeout, keyHash);
            _metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "timeout"));
            return false;
        }
        return await ServeCollapsedAsync(context, routeId, key, requestCc, requestNoCache, options, started);
    }

    /// <summary>
    /// After waiting for a concurrent fetch of the key (in this instance or another): serve what it stored, if it is
    /// fresh for this request. False when the response was not storable and the request must go upstream itself.
    /// </summary>
    private async Task<bool> ServeCollapsedAsync(HttpContext context, string routeId, string key, CacheControl requestCc,
        bool requestNoCache, CacheProxyOptions options, long started)
    {
        var (entry, _) = await LookupAsync(key, context.Request);
        if (entry is not null)
        {
            var policy = StoredPolicy.For(entry, options);
            var age = policy.CurrentAge(entry, _time.GetUtcNow());
            if (CanReuse(policy, age, requestCc, requestNoCache, out var stale) && !stale)
            {
                _metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "served"));
                await WriteStoredAsync(context, routeId, entry, policy, age, "hit; detail=collapsed");
                RecordHit(routeId, started);
                return true;
            }
        }
        _metrics.CollapsedWaits.Add(1, new KeyValuePair<string, object?>("outcome", "not_stored"));
        return false;
    }

    private void RecordHit(string routeId, long started)
    {
        _metrics.Request(routeId, CacheOutcome.Hit);
        if (_metrics.HitDuration.Enabled)
        {
            _metrics.HitDuration.Record(_time.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("route", routeId));
        }
    }

    /// <summary>RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored; the error shaping answers 504 problem+json.</summary>
    private void NotCached(HttpContext context, string routeId, CacheProxyOptions options)
    {
        _metrics.Request(routeId, CacheOutcome.Miss);
        context.Response.Headers[CacheProxyHeaderNames.CacheStatus] = $"{options.CacheStatusName}; fwd=miss; detail=only-if-cached";
        context.Features.Set<ICacheProxyErrorFeature>(new CacheProxyErrorFeature(CacheProxyError.NotCached, ErrorCategory.Client, null));
    }

    private static CacheExchange NewExchange(HttpContext context, string key, string keyHash, string routeId, RouteCachePolicy? route, CacheControl requestCc, string reason) => new()
    {
        Context = context,
        Key = key,
        KeyHash = keyHash,
        RouteId = routeId,
        Route = route,
        RequestCacheControl = requestCc,
        ForwardReason = reason,
    };

    private async Task<bool> WaitForFlightAsync(Task flight, CacheProxyOptions options, string keyHash, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _collapsedWaiters);
        try
        {
            await flight.WaitAsync(options.CollapseTimeout, _time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            Log.CollapseWaitTimedOut(_logger, options.CollapseTimeout, keyHash);
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _collapsedWaiters);
        }
    }

    /// <summary>RFC 9111 §4.2 and §5.2.1: may the stored response answer this request without contacting the origin?</summary>
    internal static bool CanReuse(StoredPolicy policy, TimeSpan age, in CacheControl requestCc, bool requestNoCache, out bool stale)
    {
        stale = false;
        if (requestNoCache || policy.NoCache)
        {
            return false;
        }
        if (requestCc.MaxAge != CacheControl.Absent && (requestCc.MaxAge == CacheControl.Invalid || age > Freshness.Seconds(requestCc.MaxAge)))
        {
            return false;
        }
        var fresh = policy.Lifetime > age;
        if (fresh)
        {
            return requestCc.MinFresh < 0 || policy.Lifetime - age >= Freshness.Seconds(requestCc.MinFresh);
        }
        if (policy.NoStaleServing || requestCc.MaxStale < 0 || requestCc.MinFresh >= 0)
        {
            return false;
        }
        stale = true;
        return requestCc.MaxStale == long.MaxValue || age - policy.Lifetime <= Freshness.Seconds(requestCc.MaxStale);
    }

    private async Task ForwardAsync(HttpContext context, RequestDelegate next, CacheExchange exchange)
    {
        var options = _options.CurrentValue;
        var requestHeaders = context.Request.Headers;
        if (exchange.Stale is { } stale)
        {
            var policy = StoredPolicy.For(stale, options);
            if (policy.HasValidator)
            {
                // RFC 9111 §4.3.1: validate with the stored validators; the client's own conditions are
                // evaluated by us against the result.
                exchange.ClientIfNoneMatch = requestHeaders.IfNoneMatch;
                exchange.ClientIfModifiedSince = requestHeaders.IfModifiedSince;
                requestHeaders.Remove(HeaderNames.IfNoneMatch);
                requestHeaders.Remove(HeaderNames.IfModifiedSince);
                requestHeaders.Remove(HeaderNames.IfRange);
                requestHeaders.Remove(HeaderNames.Range);
                if (!StringValues.IsNullOrEmpty(policy.ETag))
                {
                    requestHeaders.IfNoneMatch = policy.ETag;
                }
                if (policy.LastModifiedDate is not null)
                {
                    requestHeaders.IfModifiedSince = policy.LastModified;
                }
                exchange.Validating = true;
            }
        }

        exchange.RequestTime = _time.GetUtcNow();
        using var revalidation = exchange.Validating ? CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.revalidate") : null;
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var capture = new CaptureBodyFeature(original, c => Decide(exchange, c));
        context.Features.Set<IHttpResponseBodyFeature>(capture);
        var started = _time.GetTimestamp();
        try
        {
            await next(context);
            capture.Decide();
        }
        finally
        {
            context.Features.Set(original);
        }
        // A client that left (canceled, connection gone) is not an upstream failure: it stays a miss.
        var upstreamFailed = context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None } forwarderError
            && ErrorShaping.Classify(forwarderError).Category != ErrorCategory.Client;
        RecordUpstream(context, exchange.RouteId, started, exchange.UpstreamStatus);
        var outcome = capture.Mode == CaptureMode.Swallow
            ? (exchange.ServeStaleOnError ? CacheOutcome.Stale : CacheOutcome.Revalidated)
            : upstreamFailed ? CacheOutcome.Error : CacheOutcome.Miss;
        revalidation?.SetTag("cacheproxy.upstream_status", exchange.UpstreamStatus);
        if (exchange.Background)
        {
            _metrics.BackgroundRefreshes.Add(1, new KeyValuePair<string, object?>("outcome",
                outcome == CacheOutcome.Revalidated ? "not_modified" : upstreamFailed ? "failed" : exchange.StoreHeaders is not null ? "updated" : "not_stored"));
        }
        else
        {
            _metrics.Request(exchange.RouteId, outcome);
        }

        try
        {
            if (capture.Mode == CaptureMode.Swallow)
            {
                await AnswerFromStoreAsync(exchange);
                return;
            }
            if (exchange.StoreHeaders is not null && capture.Buffering)
            {
                await StoreResponseAsync(exchange, capture);
            }
        }
        finally
        {
            capture.ReleaseBuffer();
        }
    }

    /// <summary>Called once, before the first header or byte of the upstream response goes to the client.</summary>
    private CaptureMode Decide(CacheExchange exchange, CaptureBodyFeature capture)
    {
        var context = exchange.Context;
        var response = context.Response;
        var options = _options.CurrentValue;
        exchange.ResponseTime = _time.GetUtcNow();
        exchange.UpstreamStatus = response.StatusCode;

        if (exchange.Validating && response.StatusCode == StatusCodes.Status304NotModified)
        {
            exchange.NotModifiedHeaders = [.. HeaderFilter.ForStorage(response.Headers, null, options.Correlation.HeaderName)];
            response.Headers.Clear();
            return CaptureMode.Swallow;
        }
        if (exchange.Stale is { } stale && !exchange.Background && IsError(context, response.StatusCode))
        {
            exchange.UpstreamUnreachable = context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None };
            if (StaleIfErrorAllows(stale, options, exchange.RequestCacheControl)
                || (exchange.UpstreamUnreachable && options.ServeStaleWhenUpstreamUnreachable && StaleWhenDisconnectedAllows(stale, exchange, options)))
            {
                exchange.ServeStaleOnError = true;
                response.Headers.Clear();
                return CaptureMode.Swallow;
            }
        }

        var reason = StorageRefusal(exchange, options, out var privateFields);
        var statusText = $"fwd={exchange.ForwardReason}; fwd-status={response.StatusCode}";
        if (reason is null)
        {
            exchange.StoreHeaders = HeaderFilter.ForStorage(response.Headers, privateFields, options.Correlation.HeaderName);
            capture.StartBuffering(options.MaxObjectSize, response.ContentLength);
            statusText += "; stored";
        }
        else
        {
            Log.ResponseNotStored(_logger, exchange.KeyHash, reason);
        }
        if (options.HonorSurrogateControl)
        {
            response.Headers.Remove(CacheProxyHeaderNames.SurrogateControl); // Edge Architecture: consumed here
        }
        response.Headers.Append(CacheProxyHeaderNames.CacheStatus, $"{options.CacheStatusName}; {statusText}");
        return CaptureMode.PassThrough;
    }

    private static bool IsError(HttpContext context, int status) =>
        status is 500 or 502 or 503 or 504 || context.Features.Get<IForwarderErrorFeature>() is not null;

    private static bool StaleWhenDisconnectedAllows(CacheEntry stale, CacheExchange exchange, CacheProxyOptions options)
    {
        var policy = StoredPolicy.For(stale, options);
        return !policy.NoStaleServing && !policy.NoCache && exchange.ForwardReason != "request";
    }

    private bool StaleIfErrorAllows(CacheEntry stale, CacheProxyOptions options, in CacheControl requestCc)
    {
        var policy = StoredPolicy.For(stale, options);
        if (policy.NoStaleServing || policy.NoCache)
        {
            return false; // RFC 9111 §4.2.4: explicit directives forbid generating a stale response
        }
        var staleness = policy.CurrentAge(stale, _time.GetUtcNow()) - policy.Lifetime;
        // RFC 5861 §4: either the response's or the request's stale-if-error may allow it.
        return (policy.StaleIfError >= 0 && staleness <= Freshness.Seconds(policy.StaleIfError))
            || (requestCc.StaleIfError >= 0 && staleness <= Freshness.Seconds(requestCc.StaleIfError));
    }

    /// <summary>RFC 9111 §3: null when the response may be stored, else the reason it may not.</summary>
    private static string? StorageRefusal(CacheExchange exchange, CacheProxyOptions options, out string[]? privateFields)
    {
        privateFields = null;
        var context = exchange.Context;
        var request = context.Request;
        var response = context.Response;
        var status = response.StatusCode;
        if (!HttpMethods.IsGet(request.Method))
        {
            return "method";
        }
        if (status is < 200 or 206 or 304 || status >= 600)
        {
            return "status";
        }
        if (exchange.RequestCacheControl.NoStore)
        {
            return "request no-store";
        }
        var headers = CacheHeaders.From(response.Headers);
        var cc = Freshness.Governing(headers, options.Targeted);
        if (cc.MustUnderstand && !Freshness.IsUnderstoodStatus(status))
        {
            return "must-understand";
        }
        // RFC 9111 §5.2.2.3: a cache that understands the status code ignores the no-store sent with must-understand.
        if (cc.NoStore && !cc.MustUnderstand)
        {
            return "no-store";
        }
        if (cc.Private)
        {
            if (cc.PrivateFields is null)
            {
                return "private";
            }
            privateFields = cc.PrivateFields; // RFC 9111 §5.2.2.7: store without the listed fields
        }
        // RFC 9111 §3.5: a response to a request with Authorization is stored only when explicitly allowed.
        if (!StringValues.IsNullOrEmpty(request.Headers.Authorization)
            && !(cc.Public || cc.MustRevalidate || cc.SharedMaxAge != CacheControl.Absent))
        {
            return "authorization";
        }
        if (VaryNames(response.Headers.Vary, out var varyNames) is false)
        {
            return "vary *";
        }
        exchange.VaryNames = varyNames;
        var routeTtl = exchange.Route?.Ttl;
        Freshness.Lifetime(headers, cc, status, exchange.ResponseTime, options.HeuristicFraction, options.HeuristicMaxLifetime,
            out var explicitExpiry, out _);
        var explicitlyCacheable = explicitExpiry || cc.Public || routeTtl is not null;
        if (!explicitlyCacheable && !Freshness.IsHeuristicallyCacheable(status))
        {
            return "no explicit freshness";
        }
        if (!StringValues.IsNullOrEmpty(response.Headers.SetCookie)
            && (options.SetCookie == SetCookiePolicy.Never || !explicitlyCacheable))
        {
            return "set-cookie";
        }
        if (varyNames is not null && !VariantSuffix(request, varyNames, out _))
        {
            return "vary value";
        }
        return null;
    }

    private async Task StoreResponseAsync(CacheExchange exchange, CaptureBodyFeature capture)
    {
        var context = exchange.Context;
        var expected = context.Response.ContentLength;
        if (context.Features.Get<IForwarderErrorFeature>() is not null || context.RequestAborted.IsCancellationRequested
            || (expected is not null && expected != capture.BytesWritten))
        {
            Log.IncompleteBodyNotStored(_logger, exchange.KeyHash, capture.BytesWritten, expected);
            return;
        }
        var entry = new CacheEntry
        {
            Kind = CacheEntryKind.Response,
            StatusCode = exchange.UpstreamStatus,
            Headers = exchange.StoreHeaders!,
            Body = capture.TakeBody(),
            RequestTime = exchange.RequestTime,
            ResponseTime = exchange.ResponseTime,
            FreshnessOverride = exchange.Route?.Ttl,
        };
        await StoreAsync(exchange.Key, context.Request, entry, exchange.VaryNames);
    }

    private async Task AnswerFromStoreAsync(CacheExchange exchange)
    {
        var context = exchange.Context;
        var options = _options.CurrentValue;
        var stale = exchange.Stale!;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (exchange.ServeStaleOnError)
        {
            Log.ServedStaleOnError(_logger, exchange.UpstreamStatus, exchange.KeyHash);
            var policy = StoredPolicy.For(stale, options);
            await WriteStoredAsync(context, exchange.RouteId, stale, policy, policy.CurrentAge(stale, _time.GetUtcNow()),
                $"hit; fwd=stale; fwd-status={exchange.UpstreamStatus}; detail={(exchange.UpstreamUnreachable ? "upstream-unreachable" : "stale-if-error")}");
            return;
        }

        // RFC 9111 §4.3.4: freshen the stored response with the 304's fields and serve it.
        var updated = new CacheEntry
        {
            Kind = CacheEntryKind.Response,
            StatusCode = stale.StatusCode,
            Headers = HeaderFilter.Update(stale.Headers, exchange.NotModifiedHeaders!),
            Body = stale.Body,
            StreamedBody = stale.StreamedBody,
            RequestTime = exchange.RequestTime,
            ResponseTime = exchange.ResponseTime,
            FreshnessOverride = stale.FreshnessOverride,
            Tags = stale.Tags,
        };
        var updatedPolicy = StoredPolicy.For(updated, options);
        var refusal = UpdateRefusal(updated, options);
        if (refusal is null)
        {
            VaryNames(updated.GetHeader(HeaderNames.Vary), out var varyNames);
            await StoreAsync(exchange.Key, context.Request, updated, varyNames);
        }
        else
        {
            await InvalidateAsync(exchange.Key, context);
        }
        if (exchange.Background)
        {
            return;
        }
        var requestHeaders = context.Request.Headers;
        requestHeaders.IfNoneMatch = exchange.ClientIfNoneMatch;
        requestHeaders.IfModifiedSince = exchange.ClientIfModifiedSince;
        await WriteStoredAsync(context, exchange.RouteId, updated, updatedPolicy, updatedPolicy.CurrentAge(updated, _time.GetUtcNow()),
            $"fwd={exchange.ForwardReason}; fwd-status=304{(refusal is null ? "; stored" : string.Empty)}");
    }

    /// <summary>A 304 may turn a stored response uncacheable (e.g. no-store); then it is dropped.</summary>
    private static string? UpdateRefusal(CacheEntry updated, CacheProxyOptions options)
    {
        var cc = Freshness.Governing(CacheHeaders.From(updated), options.Targeted);
        return cc.NoStore && !cc.MustUnderstand ? "no-store" : cc.Private && cc.PrivateFields is null ? "private" : null;
    }

    private async Task StoreAsync(string key, HttpRequest request, CacheEntry entry, IReadOnlyList<string>? varyNames)
    {
        var options = _options.CurrentValue;
        var ttl = StoredPolicy.For(entry, options).TimeToLive(options);
        var keyHash = CacheKey.Hash(key);
        if (ttl <= TimeSpan.Zero)
        {
            Log.ResponseNotStored(_logger, keyHash, "no time to live");
            return;
        }
        using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.store");
        try
        {
            if (varyNames is null)
            {
                await _store.SetAsync(key, entry, ttl, CancellationToken.None);
            }
            else
            {
                await StoreVariantAsync(key, request, entry, varyNames, ttl, options);
            }
            Log.ResponseStored(_logger, entry.BodyLength, keyHash, ttl);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            StoreFailed("set", key, ex, write: true);
        }
    }

    private async Task StoreVariantAsync(string key, HttpRequest request, CacheEntry entry, IReadOnlyList<string> varyNames,
        TimeSpan ttl, CacheProxyOptions options)
    {
        VariantSuffix(request, varyNames, out var suffix);
        var existing = await _store.GetAsync(key, CancellationToken.None);
        string generation;
        List<string> variants;
        if (existing is { Kind: CacheEntryKind.VaryRule } rule && SameNames(rule.VaryHeaderNames, varyNames))
        {
            generation = rule.VaryGeneration!;
            variants = [.. rule.Variants ?? []];
            variants.Remove(suffix);
        }
        else
        {
            // A new rule (or a response without Vary before it): a new generation orphans the old variants.
            generation = Guid.NewGuid().ToString("N");
            variants = [];
        }
        variants.Add(suffix);
        while (variants.Count > options.MaxVariantsPerUrl)
        {
            await _store.RemoveAsync(VariantKey(key, generation, variants[0]), CancellationToken.None);
            variants.RemoveAt(0);
        }
        await _store.SetAsync(VariantKey(key, generation, suffix), entry, ttl, CancellationToken.None);
        await _store.SetAsync(key, new CacheEntry
        {
            Kind = CacheEntryKind.VaryRule,
            VaryHeaderNames = varyNames,
            VaryGeneration = generation,
            Variants = variants,
        }, ttl > options.StaleRetention ? ttl : options.StaleRetention, CancellationToken.None);
    }

    private static string VariantKey(string key, string generation, string suffix) =>
        string.Concat(key, "\x1E", generation, "\x1E", suffix);

    /// <summary>Finds the stored response for the request: the entry under the key, or its variant by Vary (RFC 9111 §4.1).</summary>
    private async ValueTask<(CacheEntry? Entry, bool RuleFound)> LookupAsync(string key, HttpRequest request)
    {
        using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.lookup");
        try
        {
            // No request token: reading HttpContext.RequestAborted makes Kestrel allocate a token source per request,
            // and stores bound their own calls with timeouts.
            var entry = await _store.GetAsync(key, CancellationToken.None);
            if (entry is null)
            {
                return (null, false);
            }
            if (entry.Kind == CacheEntryKind.Response)
            {
                return (entry, true);
            }
            if (entry.VaryHeaderNames is null || !VariantSuffix(request, entry.VaryHeaderNames, out var suffix))
            {
                return (null, true);
            }
            var variant = await _store.GetAsync(VariantKey(key, entry.VaryGeneration!, suffix), CancellationToken.None);
            return (variant is { Kind: CacheEntryKind.Response } ? variant : null, true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            StoreFailed("get", key, ex, write: false);
            return (null, false);
        }
    }

    /// <summary>Parses Vary into lower-case field names; false for <c>Vary: *</c>, which never matches (RFC 9111 §4.1).</summary>
    internal static bool VaryNames(StringValues vary, out IReadOnlyList<string>? names)
    {
        names = null;
        if (StringValues.IsNullOrEmpty(vary))
        {
            return true;
        }
        var list = new List<string>();
        foreach (var line in vary)
        {
            if (line is null)
            {
                continue;
            }
            foreach (var range in line.AsSpan().Split(','))
            {
                var name = line.AsSpan()[range].Trim();
                if (name.SequenceEqual("*"))
                {
                    return false;
                }
                if (!name.IsEmpty)
                {
                    var lower = name.ToString().ToLowerInvariant();
                    if (!list.Contains(lower))
                    {
                        list.Add(lower);
                    }
                }
            }
        }
        list.Sort(StringComparer.Ordinal);
        names = list.Count == 0 ? null : list;
        return true;
    }

    private static bool SameNames(IReadOnlyList<string>? a, IReadOnlyList<string> b)
    {
        if (a is null || a.Count != b.Count)
        {
            return false;
        }
        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The secondary key: the request's values of the Vary fields, normalised (lines joined, whitespace around
    /// commas and runs of whitespace collapsed: RFC 9111 §4.1 allows semantically identical values to match).
    /// Accept-Language, Accept-Encoding and Accept-Charset are also lower-cased: language ranges, content codings,
    /// charsets and the q parameter are all case-insensitive (RFC 9110 §12.5.3–12.5.4, §8.4.1, §12.4.2).
    /// False when a value holds a control character.
    /// </summary>
    internal static bool VariantSuffix(HttpRequest request, IReadOnlyList<string> names, out string suffix)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(CacheKey.FieldSeparator);
            }
            var foldCase = names[i].Equals(HeaderNames.AcceptLanguage, StringComparison.OrdinalIgnoreCase)
                || names[i].Equals(HeaderNames.AcceptEncoding, StringComparison.OrdinalIgnoreCase)
                || names[i].Equals(HeaderNames.AcceptCharset, StringComparison.OrdinalIgnoreCase);
            var values = request.Headers[names[i]];
            if (StringValues.IsNullOrEmpty(values))
            {
                sb.Append(CacheKey.AbsentValue);
                continue;
            }
            var first = true;
            foreach (var line in values)
            {
                foreach (var range in (line ?? string.Empty).AsSpan().Split(','))
                {
                    var item = (line ?? string.Empty).AsSpan()[range].Trim();
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    var space = false;
                    foreach (var c in item)
                    {
                        if (c < ' ' && c != '\t' || c == '\x7F')
                        {
                            suffix = string.Empty;
                            return false;
                        }
                        if (c is ' ' or '\t')
                        {
                            space = true;
                            continue;
                        }
                        if (space)
                        {
                            sb.Append(' ');
                            space = false;
                        }
                        sb.Append(foldCase ? char.ToLowerInvariant(c) : c);
                    }
                }
            }
        }
        suffix = sb.ToString();
        return true;
    }

    /// <summary>Writes a stored response, answering the client's conditional or range request from it.</summary>
    // Not async: the headers are set synchronously and the body write's own ValueTask is returned, so a hit whose
    // write waits on the client (a body over Kestrel's 64 KiB response buffer) costs no state machine of ours here.
    private ValueTask WriteStoredAsync(HttpContext context, string routeId, CacheEntry entry, StoredPolicy policy, TimeSpan age, string status)
    {
        var options = _options.CurrentValue;
        var request = context.Request;
        var response = context.Response;
        var headers = response.Headers;
        var length = entry.BodyLength;
        long start = 0;
        var count = length;
        var statusCode = entry.StatusCode;
        string? contentRange = null;

        // RFC 9111 §4.3.2: without Last-Modified, If-Modified-Since is compared with Date, else the time received.
        var notModified = entry.StatusCode == StatusCodes.Status200OK
            && Conditional.IsNotModified(request.Headers, policy.ETag, policy.LastModifiedDate ?? policy.Date ?? entry.ResponseTime, entry.ResponseTime);
        if (!notModified && entry.StatusCode == StatusCodes.Status200OK && HttpMethods.IsGet(request.Method)
            && request.Headers.Range is { Count: 1 } range && IfRangeHolds(request.Headers.IfRange, policy))
        {
            switch (ByteRange.Resolve(range[0], length, out var rangeStart, out var rangeCount))
            {
                case ByteRange.Outcome.Partial:
                    statusCode = StatusCodes.Status206PartialContent;
                    contentRange = $"bytes {rangeStart}-{rangeStart + rangeCount - 1}/{length}";
                    (start, count) = (rangeStart, rangeCount);
                    break;
                case ByteRange.Outcome.Unsatisfiable:
                    statusCode = StatusCodes.Status416RangeNotSatisfiable;
                    contentRange = $"bytes */{length}";
                    count = 0;
                    break;
            }
        }

        response.StatusCode = notModified ? StatusCodes.Status304NotModified : statusCode;
        var stored = entry.Headers;
        for (var i = 0; i < stored.Count; i++)
        {
            var h = stored[i];
            if (h.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                || (options.HonorSurrogateControl && h.Key.Equals(CacheProxyHeaderNames.SurrogateControl, StringComparison.OrdinalIgnoreCase))
                || (notModified && IsRepresentationField(h.Key)))
            {
                continue;
            }
            headers[h.Key] = h.Value;
        }
        var ageSeconds = (long)age.TotalSeconds;
        headers.Age = ageSeconds < AgeStrings.Length ? AgeStrings[ageSeconds] : ageSeconds.ToString(CultureInfo.InvariantCulture);
        // Upstream Cache-Status members are not stored (HeaderFilter), so ours is the only one: set, not appended.
        headers[CacheProxyHeaderNames.CacheStatus] = CacheStatusValue(options.CacheStatusName, status);
        if (notModified)
        {
            return ValueTask.CompletedTask;
        }
        if (contentRange is not null)
        {
            headers.ContentRange = contentRange;
        }
        response.ContentLength = count;
        if (HttpMethods.IsHead(request.Method) || count == 0)
        {
            return ValueTask.CompletedTask;
        }
        _metrics.Served(routeId, count);
        return entry.StreamedBody is { } streamed
            ? new ValueTask(CopyStreamedAsync(context, streamed, start, count))
            : response.Body.WriteAsync(entry.Body.Slice((int)start, (int)count)); // a write to an aborted connection fails by itself
    }

    private async Task CopyStreamedAsync(HttpContext context, IStreamedBody streamed, long start, long count)
    {
        try
        {
            await streamed.CopyToAsync(context.Response.Body, start, count, CancellationToken.None);
        }
        catch (IOException ex)
        {
            // The store lost the body after the headers went out: the client must see an incomplete response
            // (aborted connection), never a short one that looks complete.
            Log.StoreReadFailed(_logger, "streamed body", ex);
            _metrics.Error(ErrorCategory.Store);
            context.Abort();
        }
    }

    private (string Name, string Value) _hitStatus = (string.Empty, string.Empty);

    /// <summary>The Cache-Status value; the plain hit is built once per cache name, so a hit allocates no string for it.</summary>
    private string CacheStatusValue(string name, string status)
    {
        if (!ReferenceEquals(status, "hit"))
        {
            return string.Concat(name, "; ", status);
        }
        var cached = _hitStatus;
        if (!ReferenceEquals(cached.Name, name))
        {
            cached = (name, string.Concat(name, "; hit"));
            _hitStatus = cached;
        }
        return cached.Value;
    }

    // RFC 9110 §13.1.5: a range is served only if If-Range still names this representation (strong ETag or exact date).
    private static bool IfRangeHolds(StringValues ifRange, StoredPolicy policy)
    {
        if (StringValues.IsNullOrEmpty(ifRange))
        {
            return true;
        }
        var value = ifRange[0]!;
        if (value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal))
        {
            return !value.StartsWith("W/", StringComparison.Ordinal) && !StringValues.IsNullOrEmpty(policy.ETag)
                && string.Equals(policy.ETag[0], value, StringComparison.Ordinal);
        }
        return policy.LastModifiedDate is { } lm && HttpDate.TryParse(ifRange, lm, out var date) && date == lm;
    }

    // RFC 9110 §15.4.5: a 304 carries no representation metadata beyond what §15.4.5 lists.
    private static bool IsRepresentationField(string name) =>
        name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLanguage, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase);

    private void AppendStatusOnStart(HttpContext context, string status)
    {
        var name = _options.CurrentValue.CacheStatusName;
        context.Response.OnStarting(static state =>
        {
            var (ctx, value) = ((HttpContext, string))state;
            ctx.Response.Headers.Append(CacheProxyHeaderNames.CacheStatus, value);
            return Task.CompletedTask;
        }, (context, $"{name}; {status}"));
    }

    private static bool PragmaNoCache(StringValues pragma)
    {
        foreach (var line in pragma)
        {
            if (line is not null && line.Contains("no-cache", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>stale-while-revalidate: one refresh per key, run through the rest of the pipeline on a request of our own.</summary>
    private void StartBackgroundRefresh(HttpContext context, RequestDelegate next, string key, string routeId, CacheEntry stale,
        RouteCachePolicy? route)
    {
        if (!_refreshing.TryAdd(key, 0))
        {
            return;
        }
        var request = context.Request;
        var headers = new HeaderDictionary();
        foreach (var h in request.Headers)
        {
            if (!IsConditionalOrRange(h.Key))
            {
                headers[h.Key] = h.Value;
            }
        }
        var requestFeature = new HttpRequestFeature
        {
            Method = HttpMethods.Get,
            Scheme = request.Scheme,
            PathBase = request.PathBase.Value ?? string.Empty,
            Path = request.Path.Value ?? string.Empty,
            QueryString = request.QueryString.Value ?? string.Empty,
            RawTarget = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty,
            Protocol = request.Protocol,
            Headers = headers,
            Body = Stream.Null,
        };
        var endpoint = context.GetEndpoint();
        var routeValues = new Microsoft.AspNetCore.Routing.RouteValueDictionary(request.RouteValues);
        var keyHash = CacheKey.Hash(key);
        var parent = System.Diagnostics.Activity.Current?.Context;
        _ = Task.Run(async () =>
        {
            // A span of its own (the request that triggered it has already been answered), linked to that request.
            using var activity = CacheProxyTelemetry.ActivitySource.StartActivity("cacheproxy.refresh", System.Diagnostics.ActivityKind.Internal,
                parentContext: default, links: parent is { } p ? [new System.Diagnostics.ActivityLink(p)] : null);
            try
            {
                await using var scope = _scopes.CreateAsyncScope();
                var features = new FeatureCollection();
                features.Set<IHttpRequestFeature>(requestFeature);
                features.Set<IHttpResponseFeature>(new HttpResponseFeature());
                features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
                features.Set<IHttpRequestBodyDetectionFeature>(NoBody.Instance);
                var background = new DefaultHttpContext(features) { RequestServices = scope.ServiceProvider };
                background.SetEndpoint(endpoint);
                background.Request.RouteValues = routeValues;
                await ForwardAsync(background, next, new CacheExchange
                {
                    Context = background,
                    Key = key,
                    KeyHash = keyHash,
                    RouteId = routeId,
                    Route = route,
                    RequestCacheControl = CacheControl.Parse(StringValues.Empty),
                    ForwardReason = "stale",
                    Stale = stale,
                    Background = true,
                });
            }
            catch (Exception ex)
            {
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
                _metrics.BackgroundRefreshes.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                Log.BackgroundRefreshFailed(_logger, keyHash, ex);
            }
            finally
            {
                _refreshing.TryRemove(key, out _);
                RefreshCompleted?.Invoke(key);
            }
        });
    }

    private static bool IsConditionalOrRange(string name) =>
        name.Equals(HeaderNames.IfNoneMatch, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfModifiedSince, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfMatch, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfUnmodifiedSince, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.IfRange, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Range, StringComparison.OrdinalIgnoreCase);

    private static string[] CreateAgeStrings(int count)
    {
        var strings = new string[count];
        for (var i = 0; i < count; i++)
        {
            strings[i] = i.ToString(CultureInfo.InvariantCulture);
        }
        return strings;
    }

    /// <summary>The current options, read from a field on the hot path and replaced when configuration reloads.</summary>
    private sealed class OptionsSnapshot
    {
        private CacheProxyOptions _current;

        public OptionsSnapshot(IOptionsMonitor<CacheProxyOptions> monitor)
        {
            _current = monitor.CurrentValue;
            monitor.OnChange(o => Volatile.Write(ref _current, o));
        }

        public CacheProxyOptions CurrentValue => Volatile.Read(ref _current);
    }

    private sealed class NoBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly NoBody Instance = new();

        public bool CanHaveBody => false;
    }
}
