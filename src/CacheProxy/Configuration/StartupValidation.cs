using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>
/// The host's startup validation (every options class registered with <c>ValidateOnStart</c>: CacheProxy's, Redis's,
/// the app's own), with every error of every class logged as one event 1300 before the host stops. The host throws
/// them together too, so they also end the process's output.
/// </summary>
internal sealed class StartupValidation(IStartupValidator inner, ILoggerFactory loggers) : IStartupValidator
{
    public void Validate()
    {
        try
        {
            inner.Validate();
        }
        catch (Exception ex) when (Failures(ex).ToList() is { Count: > 0 } failures)
        {
            Log.ConfigurationInvalid(loggers.CreateLogger(LogCategories.Configuration), string.Join(" ", failures));
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
