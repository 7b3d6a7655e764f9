using System.ComponentModel;
using Spectre.Console.Cli;

namespace CacheProxy.Cli;

/// <summary>The options of every command that talks to a gateway: where its management endpoint is, the key, JSON output.</summary>
internal class ManagementSettings : CommandSettings
{
    public const string UrlVariable = "CACHEPROXY_MANAGEMENT_URL";
    public const string KeyVariable = "CACHEPROXY_API_KEY";
    public const string DefaultUrl = "http://127.0.0.1:5081";

    [CommandOption("-m|--management <URL>")]
    [Description("The gateway's management endpoint (default: $CACHEPROXY_MANAGEMENT_URL, else http://127.0.0.1:5081).")]
    public string? Management { get; init; }

    [CommandOption("-k|--api-key <KEY>")]
    [Description("An API key of CacheProxy:Management:ApiKeys (default: $CACHEPROXY_API_KEY). Prefer the variable: arguments show in process lists.")]
    public string? ApiKey { get; init; }

    [CommandOption("--json")]
    [Description("Print the gateway's answer as JSON instead of tables.")]
    public bool Json { get; init; }

    [CommandOption("--timeout <SECONDS>")]
    [Description("How long to wait for each answer (default 30).")]
    [DefaultValue(30)]
    public int Timeout { get; init; } = 30;

    public Uri ManagementUrl
    {
        get
        {
            var value = Management ?? Environment.GetEnvironmentVariable(UrlVariable) ?? DefaultUrl;
            return CacheProxy.Http.HttpUrl.TryParse(value, out var url)
                ? url
                : throw new CliException(ExitCodes.Usage, $"'{value}' is not a management URL: give one like http://127.0.0.1:8081 (--management or {UrlVariable})");
        }
    }

    public string? Key => ApiKey is { Length: > 0 } ? ApiKey : Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;

    public override Spectre.Console.ValidationResult Validate() =>
        Timeout is < 1 or > 3600 ? Spectre.Console.ValidationResult.Error("--timeout: whole seconds from 1 to 3600") : base.Validate();
}
