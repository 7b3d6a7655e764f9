using System.ComponentModel;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary>
/// <c>cacheproxy purge status [ID]</c>: <c>GET /purge/forwarding</c> (providers, waiting forwardings, dead letters) or
/// <c>GET /purge/forwarding/{id}</c>. Exit 1 when there are dead letters (or, for one forwarding, when a delivery failed).
/// </summary>
internal sealed class PurgeStatusCommand : AsyncCommand<PurgeStatusCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandArgument(0, "[ID]")]
        [Description("A forwarding id (what purge answered); without it, every waiting forwarding and dead letter.")]
        public string? Id { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        if (settings.Id is { } id)
        {
            var one = await client.CallAsync("/purge/forwarding/" + Uri.EscapeDataString(id), (api, raw, token) => api.Purge.Forwarding[id].GetAsync(c => c.Options.Add(raw), token),
                cancellationToken);
            if (settings.Json)
            {
                Output.Json(one);
            }
            else
            {
                AnsiConsole.MarkupLine($"forwarding [bold]{Markup.Escape(id)}[/], {Summary(one)}");
                AnsiConsole.Write(Deliveries(one));
            }
            return Failures(one) > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        }
        var state = await client.CallAsync("/purge/forwarding", (api, raw, token) => api.Purge.Forwarding.GetAsync(c => c.Options.Add(raw), token), cancellationToken);
        var failed = state.GetProperty("failed").GetArrayLength();
        if (settings.Json)
        {
            Output.Json(state);
            return failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        }
        var providers = state.GetProperty("providers").EnumerateArray().Select(p => $"{p.GetProperty("name").GetString()} ({p.GetProperty("type").GetString()})").ToList();
        if (providers.Count == 0)
        {
            AnsiConsole.MarkupLine("no CDN configured (CacheProxy:Cdn:Providers): purges are not forwarded");
        }
        else
        {
            AnsiConsole.MarkupLine($"CDNs: {Markup.Escape(string.Join(", ", providers))}; outbox: {Markup.Escape(state.GetProperty("outbox").GetString() ?? "?")}");
        }
        foreach (var (name, title, more) in new[] { ("pending", "waiting", "pendingMore"), ("failed", "[red]dead letters[/]", "failedMore") })
        {
            var list = state.GetProperty(name);
            AnsiConsole.MarkupLine($"{title}: {list.GetArrayLength()}{(state.GetProperty(more).GetBoolean() ? " (more not listed)" : string.Empty)}");
            if (list.GetArrayLength() == 0)
            {
                continue;
            }
            foreach (var forwarding in list.EnumerateArray())
            {
                AnsiConsole.MarkupLine($"  [bold]{Markup.Escape(forwarding.GetProperty("id").GetString() ?? string.Empty)}[/] {Markup.Escape(Output.Text(forwarding.GetProperty("created")))}");
                AnsiConsole.MarkupLine($"    {Markup.Escape(Summary(forwarding))}");
                foreach (var delivery in forwarding.GetProperty("providers").EnumerateArray())
                {
                    AnsiConsole.MarkupLine($"    {Markup.Escape(Line(delivery))}");
                }
            }
        }
        return failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static int Failures(JsonElement forwarding) =>
        forwarding.GetProperty("providers").EnumerateArray().Count(d => d.GetProperty("state").GetString() == "failed");

    /// <summary>One delivery in a line: <c>fastly: pending, 2 attempt(s), next 2026-… — fastly answered 503</c>.</summary>
    private static string Line(JsonElement delivery) =>
        $"{delivery.GetProperty("provider").GetString()}: {delivery.GetProperty("state").GetString()}, {delivery.GetProperty("attempts").GetInt32()} attempt(s)"
        + (delivery.GetProperty("nextAttempt").ValueKind == JsonValueKind.String ? $", next {Output.Text(delivery.GetProperty("nextAttempt"))}" : string.Empty)
        + (delivery.GetProperty("detail").ValueKind == JsonValueKind.String ? $" — {delivery.GetProperty("detail").GetString()}" : string.Empty);

    /// <summary>Whether every provider confirmed the forwarding.</summary>
    public static bool AllDelivered(JsonElement forwarding) =>
        forwarding.GetProperty("providers").EnumerateArray().All(d => d.GetProperty("state").GetString() == "delivered");

    private static string Summary(JsonElement forwarding) =>
        forwarding.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Number
            ? $"{urls.GetInt32()} URLs, {forwarding.GetProperty("tags").GetInt32()} tags, {forwarding.GetProperty("prefixes").GetInt32()} prefixes" +
              (forwarding.GetProperty("soft").GetBoolean() ? ", soft" : string.Empty)
            : "queued";

    /// <summary>A forwarding's deliveries as a table: provider, state, attempts, next attempt, detail.</summary>
    public static Table Deliveries(JsonElement forwarding)
    {
        var table = new Table().AddColumns("provider", "state", "attempts", "next attempt", "detail");
        foreach (var delivery in forwarding.GetProperty("providers").EnumerateArray())
        {
            var state = delivery.GetProperty("state").GetString() ?? string.Empty;
            table.AddRow(Markup.Escape(delivery.GetProperty("provider").GetString() ?? string.Empty),
                state switch { "delivered" => "[green]delivered[/]", "failed" => "[red]failed[/]", _ => Markup.Escape(state) },
                delivery.GetProperty("attempts").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(Output.Text(delivery.GetProperty("nextAttempt"))), Markup.Escape(Output.Text(delivery.GetProperty("detail"))));
        }
        return table;
    }
}
