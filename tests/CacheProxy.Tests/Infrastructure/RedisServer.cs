using System.Diagnostics;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server process on a free 127.0.0.1 port, started by the test (never one someone else started):
/// kill it, pause it (CLIENT PAUSE), restart it empty, corrupt a key — through redis-cli, as an operator would.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string[] _extraArgs;
    private Process? _process;

    private RedisServer(int port, string directory, string[] extraArgs)
    {
        Port = port;
        _directory = directory;
        _extraArgs = extraArgs;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(params string[] extraArgs)
    {
        var port = GatewayProcess.FreePort();
        var directory = Directory.CreateTempSubdirectory("cacheproxy-redis-").FullName;
        var server = new RedisServer(port, directory, extraArgs);
        await server.StartProcessAsync();
        return server;
    }

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", _directory, "--protected-mode", "yes" }.Concat(_extraArgs))
        {
            info.ArgumentList.Add(arg);
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"redis-server on {Port} exited"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Runs redis-cli against this server and returns its output.</summary>
    public async Task<string> CliAsync(params string[] args)
    {
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }

    /// <summary>Kills the process (SIGKILL): connections drop at once, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port, empty (any snapshot taken is deleted first).</summary>
    public Task RestartEmptyAsync()
    {
        File.Delete(Path.Combine(_directory, "dump.rdb"));
        return StartProcessAsync();
    }

    /// <summary>Writes a snapshot now (SAVE); what is written after it is lost by <see cref="RestartFromSnapshotAsync"/>.</summary>
    public async Task SnapshotAsync() => Assert.Equal("OK", await CliAsync("SAVE"));

    /// <summary>Starts the server again on the same port from the last snapshot, as after a crash with RDB persistence only.</summary>
    public Task RestartFromSnapshotAsync() => StartProcessAsync();

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
