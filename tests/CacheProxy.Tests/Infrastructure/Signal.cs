namespace CacheProxy.Tests.Infrastructure;

/// <summary>Waiting for a condition the system under test makes true, bounded; never a fixed delay.</summary>
public static class Signal
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? bound = null)
    {
        using var timeout = new CancellationTokenSource(bound ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Asks <paramref name="condition"/> again until it holds (each ask is a round trip: no spinning), bounded.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? bound = null)
    {
        using var timeout = new CancellationTokenSource(bound ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}
