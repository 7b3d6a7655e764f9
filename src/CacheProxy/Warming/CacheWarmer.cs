using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
using CacheProxy.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Warming;

/// <summary>Where a warming job stands; what <c>GET /warm</c> answers.</summary>
internal sealed record WarmStatus(string State, int Count, int Done, int Stored, int Cached, int NotStored, int Failed,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, long? SecondsLeft);

/// <summary>
/// Cache warming: one job at a time asks the gateway's own public endpoint for each URL it was given, with the URL's
/// host as Host, so every request takes the cache's whole request path and its storage rules (a response the
/// origin marks no-store stores nothing). At most <see cref="WarmOptions.Concurrency"/> requests in flight and
/// <see cref="WarmOptions.RequestsPerSecond"/> started per second (a token bucket); progress in logs (events
/// 1720–1723), the <c>cacheproxy.warm.requests</c> metric and <see cref="Status"/>. The job is background work: drain
/// waits for it and then cancels it; <see cref="Cancel"/> stops it sooner.
/// </summary>
internal sealed class CacheWarmer : IDisposable
{
    private readonly LastGoodOptions _options;
    private readonly BackgroundWork _background;
    private readonly IServer _server;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Counter<long> _requests;
    private readonly HttpClient _client;
    private readonly Lock _lock = new();
    private Job? _job;

    public CacheWarmer(LastGoodOptions options, BackgroundWork background, IServer server, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _background = background;
        _server = server;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Lifecycle);
        _requests = metrics.Meter.CreateCounter<long>("cacheproxy.warm.requests", "{request}",
            "Warming requests, by outcome: stored, cached (already), not_stored (the storage rules refused it), failed.");
        metrics.Meter.CreateObservableUpDownCounter("cacheproxy.warm.remaining", () => Volatile.Read(ref _job) is { Finished: false } job ? job.Count - job.Done : 0,
            "{request}", "URLs the running warming job has yet to ask for.");
        // Our own loopback client: no cookies, no redirects followed (a redirect is stored or not like anything else).
        _client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public WarmStatus Status => Volatile.Read(ref _job)?.Snapshot(_time.GetUtcNow())
        ?? new WarmStatus("idle", 0, 0, 0, 0, 0, 0, null, null, null);

    /// <summary>Starts warming <paramref name="urls"/>; null when started, else why not (a job runs, no public endpoint, shutting down).</summary>
    public string? TryStart(IReadOnlyList<Uri> urls, string caller, Action? finished = null)
    {
        var current = _options.Current.Warm;
        if (PublicUrl(current) is not { } target)
        {
            return "no public endpoint to send warming requests to: set CacheProxy:Warm:PublicUrl";
        }
        Job job;
        lock (_lock)
        {
            if (_job is { Finished: false })
            {
                return "a warming job is running: wait for it, or cancel it with DELETE /warm";
            }
            job = new Job(urls, _time.GetUtcNow(), current);
            _job = job;
        }
        if (!_background.TryStart("warm", async token =>
            {
                try
                {
                    await RunAsync(job, target, caller, token);
                }
                finally
                {
                    finished?.Invoke();
                }
            }))
        {
            job.Finish("cancelled", _time.GetUtcNow());
            return "shutting down";
        }
        return null;
    }

    /// <summary>Cancels the running job; false when none runs.</summary>
    public bool Cancel()
    {
        if (Volatile.Read(ref _job) is { Finished: false } job)
        {
            job.Cancellation.Cancel();
            return true;
        }
        return false;
    }

    private Uri? PublicUrl(WarmOptions warm)
    {
        if (warm.PublicUrl is { } configured)
        {
            return new Uri(configured);
        }
        var management = _options.Current.Management.Port;
        foreach (var address in _server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            if (ManagementPortFromKestrel.LoopbackUri(address) is { } uri && uri.Port != management && uri.Scheme == Uri.UriSchemeHttp)
            {
                return uri;
            }
        }
        return null;
    }

    private async Task RunAsync(Job job, Uri target, string caller, CancellationToken shutdown)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdown, job.Cancellation.Token);
        var warm = job.Settings;
        Log.WarmStarted(_logger, job.Count, caller, target.ToString(), warm.Concurrency, warm.RequestsPerSecond);
        // A token bucket refilled RequestsPerSecond times a second (in steps of at least 10 ms), bursting to one second's worth.
        var perSecond = warm.RequestsPerSecond;
        using var rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, (int)Math.Ceiling(perSecond)),
            TokensPerPeriod = perSecond <= 100 ? 1 : (int)Math.Round(perSecond / 100),
            ReplenishmentPeriod = perSecond <= 100 ? TimeSpan.FromSeconds(1 / perSecond) : TimeSpan.FromMilliseconds(10),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
        try
        {
            await Parallel.ForEachAsync(job.Urls, new ParallelOptions { MaxDegreeOfParallelism = warm.Concurrency, CancellationToken = stop.Token },
                async (url, token) =>
                {
                    using var lease = await rate.AcquireAsync(1, token);
                    var outcome = await WarmOneAsync(url, target, warm.RequestTimeout, token);
                    _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
                    if (job.Record(outcome) is var done && job.IsMilestone(done))
                    {
                        var s = job.Snapshot(_time.GetUtcNow());
                        Log.WarmProgress(_logger, s.Done, s.Count, s.Stored, s.Cached, s.NotStored, s.Failed, s.SecondsLeft ?? 0);
                    }
                });
            job.Finish("completed", _time.GetUtcNow());
        }
        catch (OperationCanceledException)
        {
            job.Finish("cancelled", _time.GetUtcNow());
        }
        var end = job.Snapshot(_time.GetUtcNow());
        Log.WarmFinished(_logger, end.State, end.Done, end.Count, end.Stored, end.Cached, end.NotStored, end.Failed,
            (long)((end.FinishedAt ?? end.StartedAt!.Value) - end.StartedAt!.Value).TotalSeconds);
    }

    /// <summary>One URL through the public endpoint: its outcome read from the status and Cache-Status.</summary>
    private async Task<string> WarmOneAsync(Uri url, Uri target, TimeSpan timeout, CancellationToken token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, url.PathAndQuery));
        request.Headers.Host = url.Authority;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
        bounded.CancelAfter(timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, bounded.Token);
            var status = string.Join(", ", response.Headers.TryGetValues("Cache-Status", out var values) ? values : []);
            if ((int)response.StatusCode >= 500)
            {
                Log.WarmRequestFailed(_logger, url.ToString(), $"{(int)response.StatusCode} ({status})");
                return "failed";
            }
            var name = _options.Current.CacheStatusName;
            return status.Contains("; stored", StringComparison.Ordinal) ? "stored"
                : status.StartsWith(name + "; hit", StringComparison.Ordinal) ? "cached"
                : "not_stored";
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !token.IsCancellationRequested))
        {
            Log.WarmRequestFailed(_logger, url.ToString(), ex is OperationCanceledException ? $"no answer within {timeout}" : ex.Message);
            return "failed";
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>One warming job's URLs and counts.</summary>
    private sealed class Job(IReadOnlyList<Uri> urls, DateTimeOffset startedAt, WarmOptions settings)
    {
        private int _done, _stored, _cached, _notStored, _failed;
        private string _state = "running";
        private DateTimeOffset? _finishedAt;

        public IReadOnlyList<Uri> Urls { get; } = urls;

        public int Count => Urls.Count;

        public int Done => Volatile.Read(ref _done);

        public WarmOptions Settings { get; } = settings;

        public CancellationTokenSource Cancellation { get; } = new();

        public bool Finished => _finishedAt is not null;

        public int Record(string outcome)
        {
            switch (outcome)
            {
                case "stored": Interlocked.Increment(ref _stored); break;
                case "cached": Interlocked.Increment(ref _cached); break;
                case "not_stored": Interlocked.Increment(ref _notStored); break;
                default: Interlocked.Increment(ref _failed); break;
            }
            return Interlocked.Increment(ref _done);
        }

        /// <summary>Every tenth of the job (and at least every 1000 URLs): a progress event.</summary>
        public bool IsMilestone(int done) => done % Math.Clamp(Count / 10, 1, 1000) == 0 && done < Count;

        public void Finish(string state, DateTimeOffset at)
        {
            _state = state;
            _finishedAt = at;
        }

        public WarmStatus Snapshot(DateTimeOffset now)
        {
            var done = Done;
            var elapsed = (_finishedAt ?? now) - startedAt;
            long? left = _finishedAt is null && done > 0 ? (long)Math.Ceiling(elapsed.TotalSeconds / done * (Count - done)) : _finishedAt is null ? null : 0;
            return new WarmStatus(_state, Count, done, Volatile.Read(ref _stored), Volatile.Read(ref _cached), Volatile.Read(ref _notStored),
                Volatile.Read(ref _failed), startedAt, _finishedAt, left);
        }
    }
}
