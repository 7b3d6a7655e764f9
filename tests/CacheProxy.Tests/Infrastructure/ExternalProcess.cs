using System.Diagnostics;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>Runs a program the tests need (promtool, node, npm, the gateway's probe) to its end, bounded in time.</summary>
public static class ExternalProcess
{
    /// <summary>Its exit code, standard output and standard error; killed (and the wait cancelled) past <paramref name="bound"/>.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(ProcessStartInfo info, TimeSpan bound)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output, await error);
    }
}
