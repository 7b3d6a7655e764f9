using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>The sample gateway as the product ships it: its built dll in a process of its own, configured by environment.</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process, int publicPort, int managementPort)
    {
        _process = process;
        PublicPort = publicPort;
        ManagementPort = managementPort;
    }

    public int PublicPort { get; }

    public int ManagementPort { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A loopback port nothing listens on, never the same twice in this test run (processes bind them later). Taken
    /// below the kernel's ephemeral range: a port from that range, free when checked, can be given to any outgoing
    /// connection (a test's HttpClient, the gateway's to its origin) before the process binds it — seen as
    /// "address already in use" on a busy machine.
    /// </summary>
    public static int FreePort()
    {
        var (low, high) = (20000, EphemeralStart);
        while (true)
        {
            var port = Random.Shared.Next(low, high);
            lock (HandedOut)
            {
                if (HandedOut.Contains(port))
                {
                    continue;
                }
            }
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException)
            {
                continue; // in use
            }
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), 32768 when unknown.</summary>
    private static readonly int EphemeralStart = File.Exists("/proc/sys/net/ipv4/ip_local_port_range")
        && int.TryParse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var start)
        && start > 21000 ? start : 32768;

    public static GatewayProcess Start(string environment, string? upstream, params (string Name, string Value)[] extra)
    {
        var publicPort = FreePort();
        var managementPort = FreePort();
        var info = new ProcessStartInfo("dotnet", Path.Combine(AppContext.BaseDirectory, "CacheProxy.Gateway.dll"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.Environment["ASPNETCORE_ENVIRONMENT"] = environment;
        // Tests count origin requests; the tests of readiness and drain turn these back on.
        info.Environment["CacheProxy__Shutdown__DrainDelay"] = "00:00:00";
        info.Environment["ReverseProxy__Clusters__origin__HealthCheck__Active__Enabled"] = "false";
        info.Environment["Kestrel__Endpoints__Public__Url"] = $"http://127.0.0.1:{publicPort}";
        info.Environment["Kestrel__Endpoints__Management__Url"] = $"http://127.0.0.1:{managementPort}";
        if (environment == "Development")
        {
            info.Environment["Kestrel__Endpoints__PublicH2c__Url"] = $"http://127.0.0.1:{FreePort()}"; // not the sample's fixed 5082
        }
        info.Environment.Remove("ReverseProxy__Clusters__origin__Destinations__primary__Address");
        info.Environment.Remove("CACHEPROXY_SETTINGS_DIR");
        if (upstream is not null)
        {
            info.Environment["ReverseProxy__Clusters__origin__Destinations__primary__Address"] = upstream;
        }
        foreach (var (name, value) in extra)
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var gateway = new GatewayProcess(process, publicPort, managementPort);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.Exited += (_, _) => gateway._started.TrySetException(new InvalidOperationException("gateway exited:\n" + gateway.Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    private readonly List<(string Needle, int Occurrence, TaskCompletionSource<string> Found)> _waiters = [];

    /// <summary>
    /// Waits for the <paramref name="occurrence"/>th output line that contains <paramref name="needle"/> (a signal, not
    /// a delay).
    /// </summary>
    public Task<string> WaitForLineAsync(string needle, int occurrence = 1)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var existing = _output.ToString().Split('\n').Where(l => l.Contains(needle, StringComparison.Ordinal)).ElementAtOrDefault(occurrence - 1);
            if (existing is not null)
            {
                return Task.FromResult(existing.TrimEnd('\r'));
            }
            _waiters.Add((needle, occurrence, found));
        }
        return found.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _waiters.Where(w => line.Contains(w.Needle, StringComparison.Ordinal)).ToList())
            {
                if (_output.ToString().Split('\n').Count(l => l.Contains(waiter.Needle, StringComparison.Ordinal)) >= waiter.Occurrence)
                {
                    waiter.Found.TrySetResult(line);
                    _waiters.Remove(waiter);
                }
            }
        }
        if (line.Contains("Application started", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }

    /// <summary>Waits for Kestrel's "Application started" line (an explicit signal, not a delay).</summary>
    public Task WaitStartedAsync() => _started.Task.WaitAsync(TimeSpan.FromSeconds(60));

    public Task WaitExitAsync() => _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

    /// <summary>The overall status of a health endpoint on the management port (its JSON <c>status</c>), whatever the HTTP status.</summary>
    public async Task<string> HealthAsync(string path = "/health", CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://127.0.0.1:{ManagementPort}{path}", cancellationToken);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.GetProperty("status").GetString()!;
    }

    /// <summary>Waits until <c>/health</c> says Healthy (Redis connected, invalidation log read): bounded polling of another process.</summary>
    public async Task WaitHealthyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await HealthAsync(cancellationToken: timeout.Token) != "Healthy")
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>Sends SIGTERM, as a deploy or Kubernetes does, and returns at once.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill!.WaitForExitAsync();
    }

    /// <summary>Stops the gateway as a deploy does: SIGTERM, then waits for it to drain and exit.</summary>
    public async Task StopGracefullyAsync()
    {
        if (_process.HasExited)
        {
            return;
        }
        await TerminateAsync();
        await WaitExitAsync();
    }

    /// <summary>Kills the gateway as a crash or an OOM kill would: no drain, nothing released or announced.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
