using System.Collections.Concurrent;
using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Gateway;

/// <summary>Graceful drain of the sample gateway as a real process: SIGTERM, a drain delay, requests in flight, exit 0.</summary>
public sealed class DrainTests
{
    private static readonly (string, string) DrainDelay = ("CacheProxy__Shutdown__DrainDelay", "00:00:01");

    [Fact]
    public async Task Sigterm_ReadinessTurns503AtOnce_ServingGoesOn_AndASlowDownloadAndASlowUploadInFlightComplete_ThenExit0()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var downloadStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = async c =>
        {
            if (c.Request.Path == "/download")
            {
                await c.Response.WriteAsync("first half, ");
                await c.Response.Body.FlushAsync();
                downloadStarted.TrySetResult();
                await release.Task;
                await c.Response.WriteAsync("second half");
                return;
            }
            using var body = new StreamReader(c.Request.Body);
            await c.Response.WriteAsync($"{c.Request.Method} {c.Request.Path} {(await body.ReadToEndAsync()).Length}");
        };
        await using var gateway = GatewayProcess.Start("Production", origin.Address, DrainDelay);
        await gateway.WaitStartedAsync();
        using var http = new HttpClient();
        var publicBase = $"http://127.0.0.1:{gateway.PublicPort}";

        var download = http.GetAsync($"{publicBase}/download", HttpCompletionOption.ResponseHeadersRead);
        var upload = new HalfThenWait(release.Task);
        var uploading = http.PostAsync($"{publicBase}/upload", new StreamContent(upload));
        await downloadStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await upload.HalfSent.WaitAsync(TimeSpan.FromSeconds(30));
        await gateway.TerminateAsync();
        await gateway.WaitForLineAsync("\"EventId\":1700"); // DrainStarted
        var readiness = await gateway.HealthAsync("/health/ready");
        var liveness = await gateway.HealthAsync("/health/live");
        var duringDelay = await http.GetAsync($"{publicBase}/new-during-the-delay");
        await gateway.WaitForLineAsync("\"EventId\":1701"); // DrainDelayOver: the listener closes now
        release.SetResult();
        var downloaded = await (await download).Content.ReadAsStringAsync();
        var uploaded = await uploading;
        await gateway.WaitExitAsync();

        Assert.Equal("Unhealthy", readiness);
        Assert.Equal("Healthy", liveness);
        Assert.Equal(HttpStatusCode.OK, duringDelay.StatusCode);
        Assert.True(duringDelay.Headers.ConnectionClose); // clients reconnect elsewhere
        Assert.Equal("first half, second half", downloaded);
        Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        Assert.Equal($"POST /upload {HalfThenWait.Size}", await uploaded.Content.ReadAsStringAsync());
        Assert.Equal(0, gateway.ExitCode);
    }

    [Fact]
    public async Task ARollingRestartOfTwoInstancesUnderLoad_FailsNoRequest()
    {
        await using var origin = await TestOrigin.StartAsync();
        origin.Handler = c =>
        {
            // Half the paths are cached; the other half go to the origin every time.
            c.Response.Headers.CacheControl = c.Request.Path.Value!.EndsWith('0') ? "no-store" : "max-age=60";
            return c.Response.WriteAsync("content of " + c.Request.Path);
        };
        var a = GatewayProcess.Start("Production", origin.Address, DrainDelay);
        var b = GatewayProcess.Start("Production", origin.Address, DrainDelay);
        await using var balancer = new LoadBalancer();
        var stopped = new List<GatewayProcess>();
        try
        {
            await Task.WhenAll(a.WaitStartedAsync(), b.WaitStartedAsync());
            balancer.Add(a);
            balancer.Add(b);
            await balancer.StartLoadAsync(workers: 8);
            await balancer.WaitServedAsync(300);

            foreach (var old in new[] { a, b })
            {
                await old.TerminateAsync(); // the balancer sees readiness fail within its probe interval
                await old.WaitExitAsync();
                stopped.Add(old);
                balancer.Remove(old);
                var replacement = GatewayProcess.Start("Production", origin.Address, DrainDelay);
                stopped.Add(replacement);
                await replacement.WaitStartedAsync();
                balancer.Add(replacement);
                await balancer.WaitServedAsync(300, by: replacement);
            }
            var (served, failures) = await balancer.StopLoadAsync();

            Assert.Empty(failures);
            Assert.True(served >= 1200, $"{served} requests served");
            Assert.Equal(0, a.ExitCode);
            Assert.Equal(0, b.ExitCode);
        }
        finally
        {
            foreach (var gateway in stopped.Concat([a, b]).Distinct())
            {
                await gateway.DisposeAsync();
            }
        }
    }

    /// <summary>A request body that sends half, then waits for a signal before it sends the rest.</summary>
    private sealed class HalfThenWait(Task rest) : Stream
    {
        public const int Size = 64 * 1024;
        private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sent;

        public Task HalfSent => _halfSent.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_sent == Size / 2)
            {
                _halfSent.TrySetResult();
                await rest.WaitAsync(cancellationToken);
            }
            var count = Math.Min(buffer.Length, (_sent < Size / 2 ? Size / 2 : Size) - _sent);
            buffer.Span[..count].Fill((byte)'x');
            _sent += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// What a cloud load balancer or Kubernetes Service does with the instances behind it: probes each one's
    /// <c>/health/ready</c> every 100 ms and sends each request to the next instance whose last probe answered 200.
    /// The probe interval is the balancer's own, not a wait in the test.
    /// </summary>
    private sealed class LoadBalancer : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<GatewayProcess, bool> _instances = new();
        private readonly ConcurrentDictionary<GatewayProcess, int> _servedBy = new();
        private readonly ConcurrentQueue<string> _failures = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
        private readonly List<Task> _running = [];
        private int _served;
        private int _next;

        public void Add(GatewayProcess gateway) => _instances[gateway] = false; // in rotation once a probe says ready

        public void Remove(GatewayProcess gateway) => _instances.TryRemove(gateway, out _);

        public async Task StartLoadAsync(int workers)
        {
            _running.Add(ProbeAsync());
            await Signal.WaitUntilAsync(() => _instances.Values.All(ready => ready));
            for (var i = 0; i < workers; i++)
            {
                var worker = i;
                _running.Add(Task.Run(() => SendAsync(worker)));
            }
        }

        public Task WaitServedAsync(int count, GatewayProcess? by = null) =>
            Signal.WaitUntilAsync(() => by is null ? Volatile.Read(ref _served) >= count : _servedBy.GetValueOrDefault(by) >= count, TimeSpan.FromSeconds(60));

        public async Task<(int Served, IReadOnlyList<string> Failures)> StopLoadAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_running);
            return (_served, _failures.ToList());
        }

        private async Task ProbeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var gateway in _instances.Keys)
                {
                    bool ready;
                    try
                    {
                        using var probe = await _http.GetAsync($"http://127.0.0.1:{gateway.ManagementPort}/health/ready", _stop.Token);
                        ready = probe.StatusCode == HttpStatusCode.OK;
                    }
                    catch (Exception) when (!_stop.IsCancellationRequested)
                    {
                        ready = false;
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    if (_instances.ContainsKey(gateway))
                    {
                        _instances[gateway] = ready;
                    }
                }
                try
                {
                    await Task.Delay(100, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private async Task SendAsync(int worker)
        {
            for (var i = 0; !_stop.IsCancellationRequested; i++)
            {
                var inRotation = _instances.Where(p => p.Value).Select(p => p.Key).ToArray();
                if (inRotation.Length == 0)
                {
                    _failures.Enqueue("no instance in rotation");
                    await Task.Yield();
                    continue;
                }
                var gateway = inRotation[Interlocked.Increment(ref _next) % inRotation.Length];
                var path = $"/item/{worker}-{i % 20}";
                try
                {
                    using var response = await _http.GetAsync($"http://127.0.0.1:{gateway.PublicPort}{path}");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK || body != "content of " + path)
                    {
                        _failures.Enqueue($"{path} on {gateway.PublicPort}: {(int)response.StatusCode} {body}");
                    }
                    Interlocked.Increment(ref _served);
                    _servedBy.AddOrUpdate(gateway, 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    _failures.Enqueue($"{path} on {gateway.PublicPort}: {ex.GetType().Name} {ex.Message}");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopLoadAsync();
            }
            _http.Dispose();
            _stop.Dispose();
        }
    }
}
