using CacheProxy.Configuration;
using CacheProxy.Storage;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>Where the Redis circuit stands: 0 closed (calls flow), 1 open (calls skipped), 2 half-open (one probe).</summary>
internal enum BreakerState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// <summary>
/// Every Redis call of the tier and the bus goes through here: a circuit breaker around a soft timeout, so a slow,
/// paused or dead Redis costs a request at most <see cref="RedisOptions.OperationTimeout"/>, and once the circuit
/// opens, nothing at all until a probe succeeds. The circuit also opens on the client library's own signal that
/// no connection is left (<c>ConnectionFailed</c> with the multiplexer disconnected), and closes when one is
/// restored: while the multiplexer is disconnected a call costs nothing, not a timeout each. Failures never escape:
/// the caller's fallback is returned, and the failure is counted (<c>cacheproxy.store.failures</c>) and logged.
/// </summary>
internal sealed class RedisCalls
{
    public const string Tier = "redis";

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CacheStoreTelemetry _telemetry;
    private readonly ResiliencePipeline _pipeline;
    private readonly RedisConnection _connection;
    private readonly CircuitBreakerManualControl _manual = new();
    private int _breakerState;
    private int _isolated;

    public RedisCalls(RedisConnection connection, IOptions<RedisOptions> options, TimeProvider time, ILoggerFactory loggers, CacheStoreTelemetry telemetry,
        RedisMeter meter)
    {
        var settings = options.Value;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Store);
        _telemetry = telemetry;
        _connection = connection;
        meter.Meter.CreateObservableGauge("cacheproxy.redis.breaker_state", () => Volatile.Read(ref _breakerState), "{state}",
            "Redis circuit breaker: 0 closed, 1 open, 2 half-open.");
        meter.Meter.CreateObservableGauge("cacheproxy.redis.connected", () => connection.Multiplexer?.IsConnected == true ? 1 : 0, "{state}",
            "1 while the Redis connection is up.");
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = settings.BreakerFailureRatio,
                SamplingDuration = settings.BreakerSamplingDuration,
                MinimumThroughput = settings.BreakerMinimumThroughput,
                BreakDuration = settings.BreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not BrokenCircuitException),
                ManualControl = _manual,
                OnOpened = args =>
                {
                    if (Interlocked.Exchange(ref _breakerState, (int)BreakerState.Open) != (int)BreakerState.Open)
                    {
                        Log.BreakerOpened(_logger, args.BreakDuration, args.IsManual ? "the connection to Redis was lost" : Describe(args.Outcome.Exception));
                    }
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    Volatile.Write(ref _breakerState, (int)BreakerState.HalfOpen);
                    return default;
                },
                OnClosed = _ =>
                {
                    Volatile.Write(ref _breakerState, (int)BreakerState.Closed);
                    Log.BreakerClosed(_logger);
                    return default;
                },
            })
            .AddTimeout(settings.OperationTimeout)
            .Build();
        connection.WhenConnected(multiplexer =>
        {
            multiplexer.ConnectionFailed += (_, _) => Follow(multiplexer);
            multiplexer.ConnectionRestored += (_, _) => Follow(multiplexer);
        });
    }

    /// <summary>Opens the circuit when the multiplexer has no connection left, and closes it when it has one again.</summary>
    private void Follow(IConnectionMultiplexer multiplexer)
    {
        if (!multiplexer.IsConnected && Interlocked.Exchange(ref _isolated, 1) == 0)
        {
            _ = _manual.IsolateAsync();
        }
        else if (multiplexer.IsConnected && Interlocked.Exchange(ref _isolated, 0) == 1)
        {
            _ = _manual.CloseAsync();
        }
    }

    public BreakerState Breaker => (BreakerState)Volatile.Read(ref _breakerState);

    /// <summary>Runs one call; <paramref name="fallback"/> when it failed, timed out or the circuit is open.</summary>
    public async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> call, T fallback, CancellationToken cancellationToken)
    {
        if (_connection.Multiplexer is { IsConnected: false })
        {
            return fallback; // no connection: nothing to wait for (the circuit opens on the library's signal)
        }
        var started = _time.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(static async (state, token) => await state(token), call, cancellationToken);
            _telemetry.RecordOperation(Tier, operation, _time.GetElapsedTime(started), failed: false);
            return result;
        }
        catch (BrokenCircuitException)
        {
            return fallback; // the circuit is open: Redis is skipped without cost, and was counted when it opened
        }
        catch (Exception ex) when (ex is TimeoutRejectedException or RedisException or TimeoutException or ObjectDisposedException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _telemetry.RecordOperation(Tier, operation, _time.GetElapsedTime(started), failed: true);
            Log.OperationFailed(_logger, operation, Describe(ex));
            return fallback;
        }
    }

    public static string Describe(Exception? ex) => ex switch
    {
        null => "unknown",
        TimeoutRejectedException => "soft timeout",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
