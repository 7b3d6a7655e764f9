using CacheProxy.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>
/// The host's startup validation (every options class registered with <c>ValidateOnStart</c>: CacheProxy's, Redis's,
/// the app's own), run by <c>UseCacheProxy</c> with every error of every class logged as one event 1300 before the app
/// stops. The exception carries them together too, so they also end the process's output. Keys of CacheProxy's sections that bind to no option
/// are logged first (event 1305 each): a misspelt key is otherwise silently ignored.
/// </summary>
internal static class StartupValidation
{
    /// <summary>Runs the host's startup validation now (<c>UseCacheProxy</c> does, before the rest of the pipeline is built).</summary>
    public static void Run(IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategories.Configuration);
        services.GetService<SettingsFiles>(); // from now on a settings file that fails to reload keeps its last good content
        foreach (var unknown in BoundSection.UnknownKeys(services.GetServices<BoundSection>()))
        {
            Log.ConfigurationKeyUnknown(logger, unknown.Path, unknown.Hint);
        }
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            if (services.GetService<LastGoodOptions>() is { } options)
            {
                LastGoodOptions.Warn(logger, options.Current);
            }
        }
        catch (Exception ex) when (Failures(ex).ToList() is { Count: > 0 } failures)
        {
            Log.ConfigurationInvalid(logger, string.Join(" ", failures));
            throw;
        }
    }

    /// <summary>Every failure message of a startup validation exception (one, or several aggregated).</summary>
    internal static IEnumerable<string> Failures(Exception exception) => exception switch
    {
        OptionsValidationException invalid => invalid.Failures,
        AggregateException many => many.InnerExceptions.SelectMany(Failures),
        _ => [],
    };
}
