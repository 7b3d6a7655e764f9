using System.Diagnostics.Metrics;
using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CacheProxy.Tests.Hosting;

public sealed class BackgroundWorkTests
{
    private readonly ServiceProvider _services;
    private readonly BackgroundWork _work;

    public BackgroundWorkTests()
    {
        _services = new ServiceCollection().AddMetrics().AddFakeLogging().AddSingleton<CacheProxyMetrics>().AddSingleton<BackgroundWork>()
            .BuildServiceProvider();
        _work = _services.GetRequiredService<BackgroundWork>();
    }

    [Fact]
    public async Task Stopping_WaitsForRunningWork_AndRefusesNewWork()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        Assert.True(_work.TryStart("test", async _ =>
        {
            await release.Task;
            finished = true;
        }));

        var stopping = _work.StopAsync(CancellationToken.None);
        Assert.False(_work.TryStart("late", _ => Task.CompletedTask));
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(finished);
    }

    [Fact]
    public async Task WhenTheHostStopsWaiting_RunningWorkIsCancelled()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.TryStart("test", async token =>
        {
            await using var _ = token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        });
        using var giveUp = new CancellationTokenSource();

        var stopping = _work.StopAsync(giveUp.Token);
        await giveUp.CancelAsync(); // the host's shutdown timeout
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await _work.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AFailure_IsLoggedAndCounted_NeverThrown()
    {
        using var errors = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), CacheProxyTelemetry.MeterName, "cacheproxy.errors");

        _work.TryStart("failing work", _ => throw new InvalidOperationException("boom"));
        await _work.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var log = Assert.Single(_services.GetRequiredService<FakeLogCollector>().GetSnapshot(), r => r.Id.Name == "BackgroundWorkFailed");
        Assert.Equal(LogLevel.Error, log.Level);
        Assert.Equal("internal", Assert.Single(errors.GetMeasurementSnapshot()).Tags["category"]);
    }

    [Fact]
    public async Task Work_RunsWithoutTheFlowOfTheRequestThatStartedIt()
    {
        var local = new AsyncLocal<string> { Value = "request state" };
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);

        _work.TryStart("test", _ =>
        {
            seen.SetResult(local.Value);
            return Task.CompletedTask;
        });

        Assert.Null(await seen.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
