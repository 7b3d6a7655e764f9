using System.ComponentModel;
using System.Net;
using CacheProxy.Management.Client.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary><c>cacheproxy purge --url U --tag T --prefix P [--soft] [--wait]</c>: one <c>POST /purge</c> with every selector.</summary>
internal sealed class PurgeCommand : AsyncCommand<PurgeCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandOption("-u|--url <URL>")]
        [Description("An absolute URL whose stored responses (every variant) to purge. Repeat for more.")]
        public string[] Urls { get; init; } = [];

        [CommandOption("-t|--tag <TAG>")]
        [Description("A surrogate key (Surrogate-Key, Cache-Tag) whose responses to purge. Repeat for more.")]
        public string[] Tags { get; init; } = [];

        [CommandOption("-p|--prefix <URL>")]
        [Description("Purge every URL that starts with this one, matched literally. Repeat for more.")]
        public string[] Prefixes { get; init; } = [];

        [CommandOption("--soft")]
        [Description("Mark stale instead of removing: served while revalidated, or on error.")]
        public bool Soft { get; init; }

        [CommandOption("--wait")]
        [Description("With CDNs configured: return when they confirmed the purge (at most CacheProxy:Cdn:MaxWait); exit 1 if one did not.")]
        public bool Wait { get; init; }

        public override ValidationResult Validate() =>
            Urls.Length + Tags.Length + Prefixes.Length == 0 ? ValidationResult.Error("name at least one --url, --tag or --prefix") : base.Validate();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        var body = new PurgeRequest { Urls = [.. settings.Urls], Tags = [.. settings.Tags], Prefixes = [.. settings.Prefixes], Soft = settings.Soft, Wait = settings.Wait };
        // 503: it holds on the instance called, but the bus (or the CDN outbox) did not take it; retrying is safe.
        var answer = await client.CallAsync("/purge", (api, raw, token) => api.Purge.PostAsync(body, c => c.Options.Add(raw), token), cancellationToken,
            HttpStatusCode.ServiceUnavailable);
        var handedOn = answer.TryGetProperty("purged", out var purged);
        if (settings.Json)
        {
            Output.Json(answer);
        }
        else if (handedOn)
        {
            AnsiConsole.MarkupLine($"[green]purged[/] {purged.GetInt32()} selector(s){(settings.Soft ? " (soft: marked stale)" : string.Empty)}; " +
                $"{answer.GetProperty("removedHere").GetInt32()} entries removed on this instance; " +
                (answer.TryGetProperty("shared", out var shared) && shared.GetBoolean() ? "every instance told" : "no other instance to tell (no Redis)"));
            if (answer.TryGetProperty("forwarding", out var forwarding))
            {
                AnsiConsole.MarkupLine($"CDN forwarding [bold]{Markup.Escape(forwarding.GetProperty("id").GetString() ?? "?")}[/] (cacheproxy purge status <id>):");
                AnsiConsole.Write(PurgeStatusCommand.Deliveries(forwarding));
            }
        }
        else
        {
            AnsiConsole.MarkupLine($"[yellow]not handed on:[/] {Markup.Escape(answer.TryGetProperty("detail", out var detail) ? detail.GetString() ?? string.Empty : "the invalidation bus did not take it")} — run it again");
        }
        var confirmed = !settings.Wait || !answer.TryGetProperty("forwarding", out var sent) || PurgeStatusCommand.AllDelivered(sent);
        return handedOn && confirmed ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
