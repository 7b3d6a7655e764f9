using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Warming;

/// <summary>
/// Warms what stored responses preload: on a route with <c>CacheProxy:Routes:{id}:WarmLinks</c>, the targets of a
/// stored response's <c>Link</c> fields with <c>rel=preload</c> or <c>prefetch</c> — at most
/// <see cref="WarmOptions.MaxLinksPerResponse"/> of them, on the response's own scheme and host only, each not warmed
/// in the last minute — are queued (256 at most; more are dropped) and asked for through the gateway's public endpoint
/// as warming does (<see cref="CacheWarmer"/>), two at a time. Counted on <c>cacheproxy.warm.links</c> by outcome.
/// </summary>
internal sealed class LinkWarming : BackgroundService, ILinkWarmer
{
    private const int QueueLength = 256;
    private const int RecentLimit = 10_000;
    private static readonly TimeSpan Recently = TimeSpan.FromMinutes(1);

    private readonly LastGoodOptions _options;
    private readonly CacheWarmer _warmer;
    private readonly TimeProvider _time;
    private readonly Counter<long> _links;
    private readonly Channel<Uri> _queue = Channel.CreateBounded<Uri>(new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, DateTimeOffset> _recent = new(StringComparer.Ordinal);

    public LinkWarming(LastGoodOptions options, CacheWarmer warmer, TimeProvider time, CacheProxyMetrics metrics)
    {
        _options = options;
        _warmer = warmer;
        _time = time;
        _links = metrics.Meter.CreateCounter<long>("cacheproxy.warm.links", "{link}",
            "Link preloads of stored responses, by outcome: queued to warm; skipped (another host, warmed in the last minute, not a URL); dropped (the queue was full).");
    }

    public void Stored(string routeId, HttpRequest request, IReadOnlyList<KeyValuePair<string, StringValues>> headers)
    {
        var current = _options.Current;
        if (!current.Routes.TryGetValue(routeId, out var route) || route.WarmLinks != true)
        {
            return;
        }
        var links = StringValues.Empty;
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Link", StringComparison.OrdinalIgnoreCase))
            {
                links = StringValues.Concat(links, value);
            }
        }
        if (links.Count == 0)
        {
            return;
        }
        var page = new Uri($"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}{request.Path.ToUriComponent()}");
        var now = _time.GetUtcNow();
        foreach (var target in LinkField.Targets(links, "preload", "prefetch").Take(current.Warm.MaxLinksPerResponse))
        {
            if (!Uri.TryCreate(page, target, out var url) || url.Scheme != page.Scheme || url.Authority != page.Authority)
            {
                Count("skipped"); // another host, or not a URL
                continue;
            }
            var key = url.GetLeftPart(UriPartial.Query);
            if (_recent.TryGetValue(key, out var warmed) && now - warmed < Recently)
            {
                Count("skipped");
                continue;
            }
            if (_recent.Count >= RecentLimit)
            {
                _recent.Clear(); // bounded: forgetting only means a link may be warmed again
            }
            _recent[key] = now;
            Count(_queue.Writer.TryWrite(new Uri(key)) ? "queued" : "dropped");
        }
    }

    private void Count(string outcome) => _links.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(_queue.Reader.ReadAllAsync(stoppingToken), new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = stoppingToken },
            async (url, token) => await _warmer.WarmLinkAsync(url, token));
}
