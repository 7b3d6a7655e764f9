using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary><c>cacheproxy inspect URL [--header "Name: value"]</c>: <c>GET /inspect</c>, what is stored for a URL or why not.</summary>
internal sealed class InspectCommand : AsyncCommand<InspectCommand.Settings>
{
    internal sealed class Settings : ManagementSettings
    {
        [CommandArgument(0, "<URL>")]
        [Description("The absolute URL, as clients ask for it.")]
        public string Url { get; init; } = string.Empty;

        [CommandOption("-H|--header <FIELD>")]
        [Description("A request field a Vary rule may select by, as \"Name: value\". Repeat for more.")]
        public string[] Headers { get; init; } = [];

        public override ValidationResult Validate() =>
            !CacheProxy.Http.HttpUrl.TryParse(Url, out _)
                ? ValidationResult.Error($"'{Url}' is not an absolute http:// or https:// URL")
            : Headers.FirstOrDefault(h => !h.Contains(':', StringComparison.Ordinal)) is { } bad ? ValidationResult.Error($"--header '{bad}': write it as \"Name: value\"")
            : base.Validate();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var client = new ManagementClient(settings);
        var answer = await client.CallAsync("/inspect", (api, raw, token) => api.Inspect.GetAsync(q =>
        {
            q.Options.Add(raw);
            q.QueryParameters.Url = settings.Url;
            q.QueryParameters.Header = settings.Headers;
        }, token), cancellationToken);
        if (settings.Json)
        {
            Output.Json(answer);
        }
        else
        {
            AnsiConsole.Write(Output.Properties(answer));
        }
        return ExitCodes.Ok;
    }
}
