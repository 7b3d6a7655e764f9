using System.ComponentModel;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Spectre.Console.Cli;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Cli.Commands;

/// <summary>
/// <c>cacheproxy config check FILE...</c>: validates appsettings files offline, layered in the order given as the
/// gateway layers them, with the validators the gateway runs at startup — every CacheProxy option (and Redis's when
/// <c>CacheProxy:Redis</c> is there), <c>CacheProxy:Routes</c> against YARP's route ids, and YARP's own checks of
/// each route and cluster under <c>ReverseProxy</c> — and prints every error. Nothing is connected to: a Redis
/// address is checked for form, not reached. Keys under CacheProxy's sections that bind to no option are listed as
/// warnings (with the nearest known key); <c>--strict</c> makes them errors.
/// </summary>
internal sealed class ConfigCheckCommand : AsyncCommand<ConfigCheckCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("appsettings files, later ones over earlier ones (e.g. appsettings.json appsettings.Production.json).")]
        public string[] Files { get; init; } = [];

        [CommandOption("--json")]
        [Description("Print {\"valid\": ..., \"errors\": [[...]], \"warnings\": [[...]]} instead of text.")]
        public bool Json { get; init; }

        [CommandOption("--with-environment")]
        [Description("Layer this process's environment variables over the files, as the gateway does (e.g. the upstream address set by the deployment).")]
        public bool WithEnvironment { get; init; }

        [CommandOption("--strict")]
        [Description("Fail (exit 1) on keys under CacheProxy that bind to no option, too: a misspelt key is otherwise ignored.")]
        public bool Strict { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var builder = new ConfigurationBuilder();
        foreach (var file in settings.Files)
        {
            if (!File.Exists(file))
            {
                throw new CliException(ExitCodes.Usage, $"{file}: no such file");
            }
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        if (settings.WithEnvironment)
        {
            builder.AddEnvironmentVariables(); // as the gateway layers them: CacheProxy__MaxObjectSize=...
        }
        Report report;
        try
        {
            report = await CheckAsync(builder.Build(), cancellationToken);
        }
        catch (InvalidDataException ex) // a file that is not JSON: the configuration provider and the parser say where
        {
            report = new([string.Join(" ", Causes(ex))], []);
        }
        var failed = report.Errors.Count > 0 || (settings.Strict && report.Warnings.Count > 0);
        var files = string.Join(", ", settings.Files);
        if (settings.Json)
        {
            Output.Json(JsonSerializer.SerializeToElement(new { valid = !failed, errors = report.Errors, warnings = report.Warnings }));
        }
        else
        {
            if (report.Errors.Count == 0)
            {
                AnsiConsole.MarkupLine(failed ? $"[red]invalid (--strict):[/] {Markup.Escape(files)}" : $"[green]valid:[/] {Markup.Escape(files)}");
            }
            else
            {
                AnsiConsole.MarkupLine($"[red]{report.Errors.Count} error(s)[/] in {Markup.Escape(files)}:");
                foreach (var error in report.Errors)
                {
                    Console.Out.WriteLine($"  - {error}"); // unwrapped, one a line
                }
            }
            if (report.Warnings.Count > 0)
            {
                AnsiConsole.MarkupLine($"[yellow]{report.Warnings.Count} warning(s)[/]{(settings.Strict ? " (errors with --strict)" : string.Empty)}:");
                foreach (var warning in report.Warnings)
                {
                    Console.Out.WriteLine($"  - {warning}");
                }
            }
        }
        return failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>What a check found: errors (the gateway would not start), and warnings (keys that bind to nothing).</summary>
    internal sealed record Report(List<string> Errors, List<string> Warnings);

    /// <summary>Every error the gateway's startup validation and YARP's config validator find in <paramref name="configuration"/>.</summary>
    internal static async Task<Report> CheckAsync(IConfigurationRoot configuration, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        var proxy = configuration.GetSection("ReverseProxy");
        if (proxy.Exists())
        {
            services.AddReverseProxy().LoadFromConfig(proxy);
        }
        // The sample gateway's features: each may bind or post-configure options that validation then sees.
        var cacheProxy = services.AddCacheProxy(configuration.GetSection("CacheProxy"))
            .AddUpstreamClient().AddManagement().AddDashboard().AddWarming().AddGracefulDrain();
        if (configuration.GetSection("CacheProxy:Experiments").Exists())
        {
            cacheProxy.AddExperiments();
        }
        if (configuration.GetSection("CacheProxy:Routes").GetChildren().Any(r => r.GetValue<bool>("Images:Enabled")))
        {
            cacheProxy.AddImages();
        }
        if (configuration.GetSection("CacheProxy:Redis").Exists())
        {
            cacheProxy.AddRedis();
        }
        await using var provider = services.BuildServiceProvider();
        var errors = new List<string>();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or AggregateException)
        {
            errors.AddRange(CacheProxy.Configuration.StartupValidation.Failures(ex));
        }
        if (proxy.Exists())
        {
            errors.AddRange(await ProxyErrorsAsync(provider, cancellationToken));
        }
        var warnings = CacheProxy.Configuration.BoundSection.UnknownKeys(provider.GetServices<CacheProxy.Configuration.BoundSection>());
        return new(errors, [.. warnings.Select(w => w.ToString())]);
    }

    private static IEnumerable<string> Causes(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            yield return exception.Message;
        }
    }

    private static async Task<IEnumerable<string>> ProxyErrorsAsync(IServiceProvider provider, CancellationToken cancellationToken)
    {
        var validator = provider.GetRequiredService<IConfigValidator>();
        var errors = new List<string>();
        IProxyConfig config;
        try
        {
            config = provider.GetServices<IProxyConfigProvider>().Single().GetConfig();
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return [$"ReverseProxy: {ex.Message}"];
        }
        foreach (var route in config.Routes)
        {
            errors.AddRange((await validator.ValidateRouteAsync(route)).Select(e => $"ReverseProxy:Routes:{route.RouteId}: {e.Message}"));
        }
        foreach (var cluster in config.Clusters)
        {
            errors.AddRange((await validator.ValidateClusterAsync(cluster)).Select(e => $"ReverseProxy:Clusters:{cluster.ClusterId}: {e.Message}"));
        }
        foreach (var route in config.Routes.Where(r => r.ClusterId is { } id && config.Clusters.All(c => c.ClusterId != id)))
        {
            errors.Add($"ReverseProxy:Routes:{route.RouteId}: no cluster '{route.ClusterId}' under ReverseProxy:Clusters");
        }
        cancellationToken.ThrowIfCancellationRequested();
        return errors;
    }
}
