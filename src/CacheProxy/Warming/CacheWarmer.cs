using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
using CacheProxy.Hosting;
using CacheProxy.Http;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Warming;

/// <summary>Where a warming job stands; what <c>GET /warm</c> answers.</summary>
internal sealed record WarmStatus(string State, int Count, int Done, int Stored, int Cached, int NotStored, int Failed,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, long? SecondsLeft, string? Error = null);

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
    private readonly Protocol _linkProtocol = new(); // what link warming learnt of the endpoint, as a job learns it

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

    /// <summary>
    /// Cancels the running job, which is over from then on (its requests still in flight are cancelled): the status
    /// says cancelled and a new job may start. False when none runs.
    /// </summary>
    public bool Cancel()
    {
        if (Volatile.Read(ref _job) is { Finished: false } job)
        {
            job.Cancellation.Cancel();
            return job.Finish("cancelled", _time.GetUtcNow());
        }
        return false;
    }

    /// <summary>
    /// One URL a stored response preloads (<see cref="LinkWarming"/>), outside any job: through the public endpoint as a
    /// job's URLs (the other protocol once when the first brought no answer), counted on <c>cacheproxy.warm.requests</c>;
    /// failures are logged (1723) and go no further.
    /// </summary>
    public async Task WarmLinkAsync(Uri url, CancellationToken token)
    {
        var warm = _options.Current.Warm;
        string outcome;
        if (PublicUrl(warm) is not { } target)
        {
            Log.WarmRequestFailed(_logger, url.ToString(), "no public endpoint to send warming requests to: set CacheProxy:Warm:PublicUrl");
            outcome = "failed";
        }
        else
        {
            outcome = await WarmOneAsync(_linkProtocol, url, target, warm.RequestTimeout, token);
        }
        _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
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
        using var rate = new TokenBucketRateLimiter(TokenBuckets.PerSecond(warm.RequestsPerSecond, queueLimit: int.MaxValue));
        try
        {
            await Parallel.ForEachAsync(job.Urls, new ParallelOptions { MaxDegreeOfParallelism = warm.Concurrency, CancellationToken = stop.Token },
                async (url, token) =>
                {
                    using var lease = await rate.AcquireAsync(1, token);
                    var outcome = await WarmOneAsync(job.Protocol, url, target, warm.RequestTimeout, token);
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
        catch (Exception ex)
        {
            // Whatever ended the job, it ends finished: its state says so, and a new job can start.
            Log.WarmJobFailed(_logger, ex);
            job.Finish("failed", _time.GetUtcNow(), ex.Message);
        }
        var end = job.Snapshot(_time.GetUtcNow());
        Log.WarmFinished(_logger, end.State, end.Done, end.Count, end.Stored, end.Cached, end.NotStored, end.Failed,
            (long)((end.FinishedAt ?? end.StartedAt!.Value) - end.StartedAt!.Value).TotalSeconds);
    }

    /// <summary>
    /// One URL through the public endpoint, its outcome read from the status and Cache-Status. The job's protocol
    /// first (HTTP/1.1 until h2c has worked: an endpoint may speak HTTP/2 only); when no answer came through the cache,
    /// the other protocol once. No answer through the cache counts as failed: nothing was fetched.
    /// </summary>
    private async Task<string> WarmOneAsync(Protocol protocol, Uri url, Uri target, TimeSpan timeout, CancellationToken token)
    {
        var version = protocol.Version;
        var (outcome, reason, tryOther) = await SendAsync(url, target, version, timeout, token);
        if (tryOther)
        {
            var other = WarmRequest.Other(version);
            (outcome, var otherReason, _) = await SendAsync(url, target, other, timeout, token);
            if (outcome is not null)
            {
                protocol.Version = other;
            }
            else
            {
                reason = $"{reason}; over HTTP/{other}: {otherReason}";
            }
        }
        if (outcome is null)
        {
            Log.WarmRequestFailed(_logger, url.ToString(), reason!);
        }
        return outcome ?? "failed";
    }

    /// <summary>
    /// The outcome of one request, or null with the reason when no answer came through the cache; <c>TryOther</c> when
    /// the other protocol may fare better (an answer from outside the cache, a connection that failed) — not after a
    /// timeout (the origin is not asked twice) nor for a URL no request can be made for.
    /// </summary>
    private async Task<(string? Outcome, string? Reason, bool TryOther)> SendAsync(Uri url, Uri target, Version version, TimeSpan timeout,
        CancellationToken token)
    {
        using var request = WarmRequest.For(target, url, version, out var refused);
        if (request is null)
        {
            return (null, refused, false);
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
        bounded.CancelAfter(timeout);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, bounded.Token);
            if (!response.Headers.TryGetValues(CacheProxyHeaderNames.CacheStatus, out var values))
            {
                return (null, $"answered {(int)response.StatusCode} over HTTP/{version} without Cache-Status: not through the cache", true);
            }
            var status = string.Join(", ", values);
            if ((int)response.StatusCode >= 500)
            {
                Log.WarmRequestFailed(_logger, url.ToString(), $"{(int)response.StatusCode} ({status})");
                return ("failed", null, false);
            }
            var name = _options.Current.CacheStatusName;
            return (status.Contains("; stored", StringComparison.Ordinal) ? "stored"
                : status.StartsWith(name + "; hit", StringComparison.Ordinal) ? "cached"
                : "not_stored", null, false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return (null, $"no answer within {timeout}", false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, ex.Message, true); // one URL fails alone
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The protocol the public endpoint answered through the cache with last: HTTP/1.1 until h2c has worked.</summary>
    private sealed class Protocol
    {
        private Version _version = HttpVersion.Version11;

        public Version Version
        {
            get => Volatile.Read(ref _version);
            set => Volatile.Write(ref _version, value);
        }
    }

    /// <summary>One warming job's URLs and counts.</summary>
    private sealed class Job(IReadOnlyList<Uri> urls, DateTimeOffset startedAt, WarmOptions settings)
    {
        private int _done, _stored, _cached, _notStored, _failed;
        private string _state = "running";
        private string? _error;
        private Ended? _finishedAt;
        private readonly Lock _ending = new();

        /// <summary>When the job ended: a reference, so it is read and written whole.</summary>
        private sealed record Ended(DateTimeOffset At);

        public IReadOnlyList<Uri> Urls { get; } = urls;

        public int Count => Urls.Count;

        public int Done => Volatile.Read(ref _done);

        public WarmOptions Settings { get; } = settings;

        public CancellationTokenSource Cancellation { get; } = new();

        public bool Finished => Volatile.Read(ref _finishedAt) is not null;

        /// <summary>The protocol the public endpoint answered through the cache with last (HTTP/1.1 until then).</summary>
        public Protocol Protocol { get; } = new();

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

        /// <summary>Ends the job in <paramref name="state"/>; the first end stands (a cancel, then the task noticing it).</summary>
        public bool Finish(string state, DateTimeOffset at, string? error = null)
        {
            lock (_ending)
            {
                if (_finishedAt is not null)
                {
                    return false;
                }
                _state = state;
                _error = error;
                Volatile.Write(ref _finishedAt, new Ended(at));
                return true;
            }
        }

        public WarmStatus Snapshot(DateTimeOffset now)
        {
            var done = Done;
            var finished = Volatile.Read(ref _finishedAt)?.At;
            var elapsed = (finished ?? now) - startedAt;
            long? left = finished is null && done > 0 ? (long)Math.Ceiling(elapsed.TotalSeconds / done * (Count - done)) : finished is null ? null : 0;
            return new WarmStatus(finished is null ? "running" : _state, Count, done, Volatile.Read(ref _stored), Volatile.Read(ref _cached),
                Volatile.Read(ref _notStored), Volatile.Read(ref _failed), startedAt, finished, left, finished is null ? null : _error);
        }
    }
}
