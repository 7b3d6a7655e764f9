using System.Reflection;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace CacheProxy.Cli;

/// <summary>Spectre's help, with what every command shares below it: the environment variables, the shared options, the exit codes.</summary>
internal sealed class CliHelp(ICommandAppSettings settings) : HelpProvider(settings)
{
    /// <summary>The tool's version (the package's, with the commit when SourceLink knew it).</summary>
    public static string Version { get; } =
        typeof(CliHelp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public override IEnumerable<IRenderable> GetFooter(ICommandModel model, ICommandInfo? command)
    {
        var variables = new Grid()
            .AddColumn(new GridColumn().NoWrap().Padding(new Padding(4, 0, 4, 0)))
            .AddColumn()
            .AddRow(ManagementSettings.UrlVariable, $"The gateway's management endpoint (default {ManagementSettings.DefaultUrl}); -m|--management overrides it")
            .AddRow(ManagementSettings.KeyVariable, "An API key of CacheProxy:Management:ApiKeys; -k|--api-key overrides it (prefer the variable: arguments show in process lists)");
        return
        [
            .. base.GetFooter(model, command),
            new Markup(Environment.NewLine + "[yellow]ENVIRONMENT:[/]" + Environment.NewLine),
            variables,
            new Text(Environment.NewLine + "Every command that talks to a gateway takes -m|--management, -k|--api-key, --json and --timeout." + Environment.NewLine
                + "Exit codes: 0 done, 1 not good (unhealthy, invalid, failed), 2 usage, 3 unreachable, 4 refused." + Environment.NewLine),
        ];
    }
}
