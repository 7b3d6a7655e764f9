using System.ComponentModel;
using System.Net;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary><c>cacheproxy health [--ready|--live]</c>: the health report; exit 0 only when Healthy.</summary>
internal sealed class HealthCommand : AsyncCommand<HealthCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandOption("--ready")]
        [Description("Only the readiness checks (/health/ready): may this instance take traffic?")]
        public bool Ready { get; init; }

        [CommandOption("--live")]
        [Description("Only liveness (/health/live): is the process up?")]
        public bool Live { get; init; }

        public override ValidationResult Validate() => Ready && Live ? ValidationResult.Error("--ready or --live, not both") : base.Validate();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        var path = settings.Ready ? "/health/ready" : settings.Live ? "/health/live" : "/health";
        var report = await client.CallAsync(path, (api, raw, token) => settings.Ready ? api.Health.Ready.GetAsync(c => c.Options.Add(raw), token)
            : settings.Live ? api.Health.Live.GetAsync(c => c.Options.Add(raw), token) : api.Health.GetAsync(c => c.Options.Add(raw), token),
            cancellationToken, HttpStatusCode.ServiceUnavailable); // 503: Unhealthy, and the report says why
        var status = report.GetProperty("status").GetString();
        if (settings.Json)
        {
            Output.Json(report);
        }
        else
        {
            AnsiConsole.MarkupLine($"{Markup.Escape(path)}: {Colour(status)}");
            var table = new Table().Border(TableBorder.Rounded).AddColumns("check", "status", "ms", "description");
            foreach (var check in report.GetProperty("checks").EnumerateObject())
            {
                var entry = check.Value;
                table.AddRow(Markup.Escape(check.Name), Colour(entry.GetProperty("status").GetString()), Output.Text(entry.GetProperty("durationMs")),
                    Markup.Escape(entry.TryGetProperty("description", out var description) ? description.GetString() ?? string.Empty : string.Empty));
            }
            if (table.Rows.Count > 0)
            {
                AnsiConsole.Write(table);
            }
        }
        return status == "Healthy" ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static string Colour(string? status) => status switch
    {
        "Healthy" => "[green]Healthy[/]",
        "Degraded" => "[yellow]Degraded[/]",
        _ => $"[red]{Markup.Escape(status ?? "unknown")}[/]",
    };
}
