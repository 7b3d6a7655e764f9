using System.Diagnostics;

namespace CacheProxy.Tests.Cli;

/// <summary>Runs the cacheproxy tool (built beside the tests) as a process, as an operator's shell would.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(Info(environment, args))!;
        process.StandardInput.Close();
        return await EndAsync(process, process.StandardOutput.ReadToEndAsync(), args);
    }

    /// <summary>Starts the tool and returns once a line of its output contains <paramref name="needle"/>; End then waits for it to exit.</summary>
    public static async Task<(Process Process, Func<Task<Result>> End)> StartAsync(IReadOnlyDictionary<string, string>? environment, string needle, params string[] args)
    {
        var process = Process.Start(Info(environment, args))!;
        process.StandardInput.Close();
        var output = new System.Text.StringBuilder();
        while (await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
        {
            output.AppendLine(line);
            if (line.Contains(needle, StringComparison.Ordinal))
            {
                break;
            }
        }
        var rest = process.StandardOutput.ReadToEndAsync();
        return (process, async () =>
        {
            using (process)
            {
                return await EndAsync(process, ContinueWith(output, rest), args);
            }
        });
    }

    private static async Task<string> ContinueWith(System.Text.StringBuilder start, Task<string> rest) => start + await rest;

    private static ProcessStartInfo Info(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        // As a shell starts a foreground command: SIGINT at its default. A test run started in the background (a CI
        // runner, `cmd &`) inherits SIGINT ignored, and .NET, like any Unix program, leaves an ignored SIGINT ignored:
        // Ctrl+C would then never reach the tool (seen: the Ctrl+C test waited out the warm's timeouts).
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CacheProxy.Cli.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment.Remove("CACHEPROXY_MANAGEMENT_URL");
        info.Environment.Remove("CACHEPROXY_API_KEY");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        return info;
    }

    private static async Task<Result> EndAsync(Process process, Task<string> output, string[] args)
    {
        var error = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"cacheproxy {string.Join(' ', args)} did not end:\n{await output}\n{await error}");
        }
        var result = new Result(process.ExitCode, await output, await error);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal); // never a stack trace
        return result;
    }
}
