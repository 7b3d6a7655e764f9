namespace CacheProxy.Cli;

/// <summary>What the process's exit code means (docs/operations/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>Done as asked: healthy, valid, purged, warmed without a failure.</summary>
    public const int Ok = 0;

    /// <summary>The gateway answered, but the outcome is not good: unhealthy, invalid configuration, a purge not handed on, a warm with failures or cancelled, a request it refused as wrong.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: an unknown command or option, a missing argument, a file that cannot be read.</summary>
    public const int Usage = 2;

    /// <summary>The management endpoint could not be reached: no connection, no answer in time, not a CacheProxy endpoint.</summary>
    public const int Unreachable = 3;

    /// <summary>The management endpoint refused the caller: no key, a wrong key, an address not allowed, too many failed attempts.</summary>
    public const int Refused = 4;
}

/// <summary>A failure the command reports in one sentence, with its exit code; never a stack trace.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
