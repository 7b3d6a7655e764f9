using CacheProxy.Configuration;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CacheProxy.Redis;

/// <summary>
/// The one Redis multiplexer of the process: the app's own <see cref="IConnectionMultiplexer"/> when it registered
/// one, else one made from <see cref="RedisOptions.Configuration"/>. Connecting starts with the host and never
/// blocks it: until Redis answers, the tier is simply absent (every read a miss). StackExchange.Redis reconnects by
/// itself (<c>AbortOnConnectFail=false</c>).
/// </summary>
internal sealed class RedisConnection : IHostedService, IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<Action<IConnectionMultiplexer>> _onConnected = [];
    private IConnectionMultiplexer? _multiplexer;
    private bool _owned;
    private Task? _connecting;

    public RedisConnection(IOptions<RedisOptions> options, IServiceProvider services, ILoggerFactory loggers)
    {
        _options = options.Value;
        _services = services;
        _logger = loggers.CreateLogger(LogCategories.Store);
    }

    public IConnectionMultiplexer? Multiplexer => Volatile.Read(ref _multiplexer);

    /// <summary>Runs <paramref name="callback"/> once the multiplexer exists (at once if it already does).</summary>
    public void WhenConnected(Action<IConnectionMultiplexer> callback)
    {
        IConnectionMultiplexer? ready;
        lock (_lock)
        {
            ready = _multiplexer;
            if (ready is null)
            {
                _onConnected.Add(callback);
                return;
            }
        }
        callback(ready);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_services.GetService<IConnectionMultiplexer>() is { } existing)
        {
            Publish(existing);
            return Task.CompletedTask;
        }
        var shared = _services.GetService<IOptions<RedisCacheOptions>>()?.Value;
        if (string.IsNullOrWhiteSpace(_options.Configuration) && shared?.ConnectionMultiplexerFactory is { } factory)
        {
            _owned = true;
            _connecting = ConnectAsync(factory);
            return Task.CompletedTask;
        }
        if (Configuration(_options, shared) is not { } configuration)
        {
            Log.ConfigurationMissing(_logger);
            return Task.CompletedTask;
        }
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)_options.ConnectTimeout.TotalMilliseconds;
        // The soft timeout (Polly) bounds each call; the client's own timeout only has to end stuck commands.
        configuration.AsyncTimeout = Math.Max(1000, (int)(_options.OperationTimeout.TotalMilliseconds * 4));
        configuration.SyncTimeout = configuration.AsyncTimeout;
        configuration.ClientName ??= "CacheProxy";
        _owned = true;
        _connecting = ConnectAsync(configuration);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The connection settings: <see cref="RedisOptions.Configuration"/>, else those an app gave
    /// <c>AddStackExchangeRedisCache</c> (<see cref="RedisCacheOptions"/>), so one Redis setting serves both; null without either.
    /// </summary>
    internal static ConfigurationOptions? Configuration(RedisOptions options, RedisCacheOptions? shared) =>
        !string.IsNullOrWhiteSpace(options.Configuration) ? ConfigurationOptions.Parse(options.Configuration)
        : shared?.ConfigurationOptions is { } given ? given.Clone()
        : !string.IsNullOrWhiteSpace(shared?.Configuration) ? ConfigurationOptions.Parse(shared.Configuration)
        : null;

    private async Task ConnectAsync(Func<Task<IConnectionMultiplexer>> factory)
    {
        try
        {
            Publish(await factory());
        }
        catch (Exception ex) when (ex is RedisException or ArgumentException)
        {
            Log.ConnectionFailed(_logger, "Initial", "AddStackExchangeRedisCache factory", "ConfigurationOrConnect", ex);
        }
    }

    private async Task ConnectAsync(ConfigurationOptions configuration)
    {
        try
        {
            Publish(await ConnectionMultiplexer.ConnectAsync(configuration));
        }
        catch (Exception ex) when (ex is RedisException or ArgumentException)
        {
            Log.ConnectionFailed(_logger, "Initial", string.Join(",", configuration.EndPoints), "ConfigurationOrConnect", ex);
        }
    }

    private void Publish(IConnectionMultiplexer multiplexer)
    {
        List<Action<IConnectionMultiplexer>> callbacks;
        lock (_lock)
        {
            _multiplexer = multiplexer;
            callbacks = [.. _onConnected];
            _onConnected.Clear();
        }
        foreach (var callback in callbacks)
        {
            callback(multiplexer);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_connecting is not null)
        {
            await _connecting;
        }
        if (_owned && _multiplexer is not null)
        {
            // Shutdown must not wait on a paused or dead Redis: close without waiting for pending commands, bounded.
            try
            {
                await _multiplexer.CloseAsync(allowCommandsToComplete: false).WaitAsync(_options.ConnectTimeout);
            }
            catch (Exception ex) when (ex is TimeoutException or RedisException)
            {
                // closing is best effort; Dispose below drops the sockets
            }
            _multiplexer.Dispose();
        }
    }
}
