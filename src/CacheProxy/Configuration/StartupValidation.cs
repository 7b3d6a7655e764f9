using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>
/// The host's startup validation (every options class registered with <c>ValidateOnStart</c>: CacheProxy's, Redis's,
/// the app's own), with every error of every class logged as one event 1300 before the host stops. The host throws
/// them together too, so they also end the process's output. Keys of CacheProxy's sections that bind to no option
/// are logged first (event 1305 each): a misspelt key is otherwise silently ignored.
/// </summary>
internal sealed class StartupValidation(IStartupValidator inner, ILoggerFactory loggers, IEnumerable<BoundSection> sections) : IStartupValidator
{
    public void Validate()
    {
        var logger = loggers.CreateLogger(LogCategories.Configuration);
        foreach (var unknown in BoundSection.UnknownKeys(sections))
        {
            Log.ConfigurationKeyUnknown(logger, unknown.Path, unknown.Hint);
        }
        try
        {
            inner.Validate();
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
