using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary><c>cacheproxy stats [--window N]</c>: <c>GET /stats</c> as tables.</summary>
internal sealed class StatsCommand : AsyncCommand<StatsCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandOption("-w|--window <SECONDS>")]
        [Description("The window rates and ratios are taken over, 1 to 60 seconds (default 10).")]
        [DefaultValue(10)]
        public int Window { get; init; } = 10;

        public override ValidationResult Validate() => Window is < 1 or > 60 ? ValidationResult.Error("--window: whole seconds from 1 to 60") : base.Validate();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        var stats = await client.CallAsync("/stats", (api, raw, token) => api.Stats.GetAsync(q =>
        {
            q.Options.Add(raw);
            q.QueryParameters.Window = settings.Window;
        }, token), cancellationToken);
        if (settings.Json)
        {
            Output.Json(stats);
            return ExitCodes.Ok;
        }
        var seconds = stats.GetProperty("windowSeconds").GetDouble();
        var all = stats.GetProperty("all");
        var totals = stats.GetProperty("totals");
        var memory = stats.GetProperty("memory");
        var redis = stats.GetProperty("redis");
        var maintenance = stats.GetProperty("maintenance");
        var summary = new Grid().AddColumn().AddColumn();
        void Line(string name, string value) => summary.AddRow(new Markup($"[grey]{name}[/]"), new Text(value));
        Line("window", $"{seconds:0.#} s");
        Line("requests/s", all.GetProperty("requestsPerSecond").GetDouble().ToString("0.##", CultureInfo.InvariantCulture));
        Line("hit ratio", Output.Percent(all.GetProperty("hitRatio")));
        Line("stale / errors", $"{all.GetProperty("stale").GetInt64()} / {all.GetProperty("errors").GetInt64()}");
        Line("origin p50 / p99", $"{Output.Milliseconds(all.GetProperty("originP50Ms"))} / {Output.Milliseconds(all.GetProperty("originP99Ms"))}");
        Line("served / fetched", $"{Rate(all.GetProperty("servedBytes"), seconds)} / {Rate(all.GetProperty("fetchedBytes"), seconds)} (byte offload {Output.Percent(all.GetProperty("byteOffload"))})");
        Line("since start", $"{totals.GetProperty("requests").GetInt64()} requests, {Output.Bytes(totals.GetProperty("servedBytes").GetInt64())} served, " +
            $"{Output.Bytes(totals.GetProperty("compressionSavedBytes").GetInt64())} saved by compression");
        Line("memory tier", $"{Output.Bytes(memory.GetProperty("bytes").GetInt64())} of {Output.Bytes(memory.GetProperty("limit").GetInt64())}, " +
            $"{memory.GetProperty("entries").GetInt64()} entries, {memory.GetProperty("evictions").GetInt64()} evictions, " +
            $"hit ratio {Output.Percent(memory.GetProperty("hitRatio"))}, {memory.GetProperty("rejections").GetInt64()} kept out by admission");
        var ahead = memory.GetProperty("refreshAhead");
        Line("refresh ahead", $"{ahead.GetProperty("started").GetInt64()} started ({ahead.GetProperty("startedInWindow").GetInt64()} in the window), " +
            $"{ahead.GetProperty("skipped").GetInt64()} skipped, {ahead.GetProperty("wasted").GetInt64()} wasted");
        Line("redis", redis.ValueKind == JsonValueKind.Null ? "not configured"
            : $"circuit {redis.GetProperty("circuit").GetString()}, {(redis.GetProperty("connected").GetBoolean() ? "connected" : "NOT connected")}");
        Line("maintenance", maintenance.GetProperty("enabled").GetBoolean() ? $"ON ({maintenance.GetProperty("source").GetString()})" : "off");
        Line("draining", stats.GetProperty("draining").GetBoolean() ? "yes" : "no");
        AnsiConsole.Write(summary);

        var routes = new Table().Border(TableBorder.Rounded).AddColumns("route", "req/s", "hit ratio", "stale", "errors", "origin p50", "origin p99", "served", "fetched");
        foreach (var route in stats.GetProperty("routes").EnumerateArray())
        {
            var f = route.GetProperty("figures");
            routes.AddRow(Markup.Escape(route.GetProperty("route").GetString() ?? string.Empty), f.GetProperty("requestsPerSecond").GetDouble().ToString("0.##", CultureInfo.InvariantCulture),
                Output.Percent(f.GetProperty("hitRatio")), f.GetProperty("stale").GetInt64().ToString(CultureInfo.InvariantCulture),
                f.GetProperty("errors").GetInt64().ToString(CultureInfo.InvariantCulture), Output.Milliseconds(f.GetProperty("originP50Ms")),
                Output.Milliseconds(f.GetProperty("originP99Ms")), Rate(f.GetProperty("servedBytes"), seconds), Rate(f.GetProperty("fetchedBytes"), seconds));
        }
        if (routes.Rows.Count > 0)
        {
            AnsiConsole.Write(routes);
        }
        return ExitCodes.Ok;
    }

    private static string Rate(JsonElement bytes, double seconds) => seconds > 0 ? Output.Bytes(bytes.GetInt64() / seconds) + "/s" : "–";
}
