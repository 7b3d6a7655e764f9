using Spectre.Console.Cli;

namespace CacheProxy.Cli;

/// <summary>How an exception ends the command: one line on standard error and an exit code from <see cref="ExitCodes"/>.</summary>
internal static class Failures
{
    public static int Report(Exception exception)
    {
        var (code, message) = exception switch
        {
            CliException cli => (cli.ExitCode, cli.Message),
            CommandParseException or CommandRuntimeException => (ExitCodes.Usage, exception.Message),
            OperationCanceledException => (ExitCodes.Failed, "cancelled"),
            _ => (ExitCodes.Failed, $"unexpected failure: {exception.Message}"),
        };
        // Plain lines, never wrapped: scripts grep them.
        Console.Error.WriteLine($"error: {message}");
        if (code == ExitCodes.Usage)
        {
            Console.Error.WriteLine("see cacheproxy --help");
        }
        return code;
    }
}
