using System.Diagnostics;

namespace CacheProxy.Tests.Cli;

/// <summary>Runs the cacheproxy tool (built beside the tests) as a process, as an operator's shell would.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
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
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
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
