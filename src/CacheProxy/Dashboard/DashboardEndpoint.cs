using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CacheProxy.Diagnostics;
using CacheProxy.Management;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Dashboard;

/// <summary>
/// <c>GET /stats</c> (the figures as JSON, <c>?window=</c> 1 to 60 seconds, 10 by default), and the live dashboard:
/// <c>GET /dashboard</c> (one page, its script and style served from the assembly's resources, nothing from
/// elsewhere, a Content-Security-Policy that allows nothing else) fed by <c>GET /dashboard/events</c>, server-sent
/// events carrying the same JSON each second until the client leaves or the host stops. Behind the management
/// policy like every management endpoint; a browser signs in with HTTP Basic, the API key as the password.
/// </summary>
internal sealed class DashboardEndpoint(LiveStatistics statistics, Maintenance maintenance, RecentPurges purges, TimeProvider time,
    IHostApplicationLifetime lifetime, ErrorShaping errors, KeyLimits limits, Cdn.CdnForwarder cdn)
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(10);

    /// <summary>How many waiting forwardings and dead letters the dashboard counts and shows at most.</summary>
    private const int Shown = 10;

    public async Task GetStatsAsync(HttpContext context)
    {
        var window = DefaultWindow;
        if (context.Request.Query["window"] is { Count: > 0 } value)
        {
            if (value.Count > 1 || !int.TryParse(value[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                || seconds is < 1 or > LiveStatistics.HistorySeconds)
            {
                await errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null),
                    $"window: whole seconds from 1 to {LiveStatistics.HistorySeconds}", new Dictionary<string, object?> { ["field"] = "window" });
                return;
            }
            window = TimeSpan.FromSeconds(seconds);
        }
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(await SnapshotAsync(window, context.RequestAborted), ManagementJson.Options, context.RequestAborted);
    }

    /// <summary>The event stream, while the caller's key holds fewer than <c>Management:EventStreamsPerKey</c> (else 429).</summary>
    public async Task EventsAsync(HttpContext context)
    {
        using var lease = await limits.TryOpenStreamAsync(context);
        if (lease is null)
        {
            return;
        }
        context.Response.Headers.CacheControl = "no-store";
        await TypedResults.ServerSentEvents(Stream(context.RequestAborted)).ExecuteAsync(context);
    }

    public async Task PageAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (path.EndsWith('/'))
        {
            // The page names its script, style and events relative to /dashboard.
            context.Response.Redirect(context.Request.PathBase + path.TrimEnd('/'));
            return;
        }
        await WriteResourceAsync(context, "dashboard.html", "text/html; charset=utf-8");
    }

    public Task ScriptAsync(HttpContext context) => WriteResourceAsync(context, "dashboard.js", "text/javascript; charset=utf-8");

    public Task StyleAsync(HttpContext context) => WriteResourceAsync(context, "dashboard.css", "text/css; charset=utf-8");

    private async Task<StatsSnapshot> SnapshotAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var state = maintenance.Current;
        return statistics.Snapshot(window) with
        {
            Maintenance = new MaintenanceStats(state.Enabled, state.Source, state.RetryAfter.TotalSeconds),
            RecentPurges = purges.List(),
            Cdn = await CdnAsync(cancellationToken),
        };
    }

    private async Task<CdnStats?> CdnAsync(CancellationToken cancellationToken)
    {
        var providers = cdn.Providers;
        if (providers.Count == 0)
        {
            return null;
        }
        // Each second for every viewer: the newest few only (GET /purge/forwarding lists more).
        var pending = await cdn.Outbox.ListAsync(Cdn.CdnDeliveryState.Pending, Shown + 1, cancellationToken);
        var failed = await cdn.Outbox.ListAsync(Cdn.CdnDeliveryState.Failed, Shown + 1, cancellationToken);
        var latest = pending.Take(Shown).Concat(failed.Take(Shown)).OrderByDescending(f => f.Purge.Created).Take(Shown).Select(ForwardingView.Of).ToList();
        return new CdnStats([.. providers.Select(p => $"{p} ({cdn.TypeOf(p)})")], cdn.OutboxKind,
            Math.Min(pending.Count, Shown), Math.Min(failed.Count, Shown), pending.Count > Shown || failed.Count > Shown, latest);
    }

    private async IAsyncEnumerable<SseItem<string>> Stream([EnumeratorCancellation] CancellationToken aborted)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopping);
        while (!both.IsCancellationRequested)
        {
            StatsSnapshot snapshot;
            try
            {
                snapshot = await SnapshotAsync(DefaultWindow, both.Token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            yield return new SseItem<string>(JsonSerializer.Serialize(snapshot, ManagementJson.Options), "stats");
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, both.Token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    private static async Task WriteResourceAsync(HttpContext context, string name, string contentType)
    {
        await using var resource = typeof(DashboardEndpoint).Assembly.GetManifestResourceStream("CacheProxy.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard resource {name} is missing from the assembly.");
        var headers = context.Response.Headers;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = resource.Length;
        headers.CacheControl = "no-cache";
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        await resource.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
