using System.ComponentModel;
using CacheProxy.Management.Client.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary><c>cacheproxy maintenance [on|off] [--retry-after S] [--allow CIDR]</c>: <c>GET</c> or <c>POST /maintenance</c>.</summary>
internal sealed class MaintenanceCommand : AsyncCommand<MaintenanceCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandArgument(0, "[on|off]")]
        [Description("Turn maintenance mode on or off on every instance; without it, show the state.")]
        public string? Switch { get; init; }

        [CommandOption("--retry-after <SECONDS>")]
        [Description("With on: the Retry-After of the 503s (default: CacheProxy:Maintenance:RetryAfter).")]
        public int? RetryAfter { get; init; }

        [CommandOption("--allow <CIDR>")]
        [Description("With on: a network whose requests still pass through, e.g. 10.0.0.0/8. Repeat for more.")]
        public string[] Allow { get; init; } = [];

        public override ValidationResult Validate() =>
            Switch is not (null or "on" or "off") ? ValidationResult.Error($"'{Switch}': say on or off, or nothing to show the state")
            : Switch != "on" && (RetryAfter is not null || Allow.Length > 0) ? ValidationResult.Error("--retry-after and --allow go with on")
            : base.Validate();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        var state = await client.CallAsync("/maintenance", (api, raw, token) => settings.Switch is null
            ? api.Maintenance.GetAsync(c => c.Options.Add(raw), token)
            : api.Maintenance.PostAsync(new MaintenanceRequest { Enabled = settings.Switch == "on", RetryAfter = settings.RetryAfter, Allow = [.. settings.Allow] },
                c => c.Options.Add(raw), token), cancellationToken);
        if (settings.Json)
        {
            Output.Json(state);
            return ExitCodes.Ok;
        }
        var enabled = state.GetProperty("enabled").GetBoolean();
        AnsiConsole.MarkupLine(enabled
            ? $"maintenance [yellow]on[/] (by {Markup.Escape(state.GetProperty("source").GetString() ?? "?")}), Retry-After {state.GetProperty("retryAfter").GetInt32()} s" +
              (state.GetProperty("allow").GetArrayLength() > 0 ? $", passing through: {Markup.Escape(Output.Text(state.GetProperty("allow")))}" : string.Empty)
            : "maintenance [green]off[/]");
        if (settings.Switch == "off" && enabled)
        {
            // Configuration (CacheProxy:Maintenance:Enabled) holds it on; the switch cannot turn that off.
            AnsiConsole.MarkupLine("[yellow]still on:[/] configuration turns it on (CacheProxy:Maintenance:Enabled)");
            return ExitCodes.Failed;
        }
        return ExitCodes.Ok;
    }
}
