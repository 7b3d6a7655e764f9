using System.Net;
using CacheProxy.Storage;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Caching;

public sealed class BasicCachingTests
{
    [Fact]
    public async Task SecondGet_IsServedFromCache_WhenMaxAgeAllows()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            return c.Response.WriteAsync("hello");
        };

        var first = await proxy.GetAsync("/a");
        var second = await proxy.GetAsync("/a");

        Assert.Equal("hello", await second.Content.ReadAsStringAsync());
        Assert.Equal(1, proxy.Origin.Calls);
        Assert.Contains("fwd=miss", first.CacheStatus());
        Assert.Contains("stored", first.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", second.CacheStatus());
        Assert.NotNull(second.Headers.Age);
    }

    [Fact]
    public async Task ResponseWithoutFreshness_IsNotReused()
    {
        await using var proxy = await ProxyFixture.StartAsync();

        await proxy.GetAsync("/plain");
        var second = await proxy.GetAsync("/plain");

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, proxy.Origin.Calls);
    }

    /// <summary>
    /// Regression: the consumer test's second curl, sent after the first had read the whole response, found the fill
    /// still storing and waited for it ('hit; detail=collapsed'). The last byte of a response being stored now goes
    /// out only once it is stored, so a client that has the whole response gets a plain hit when it asks again.
    /// </summary>
    [Fact]
    public async Task AClientThatHasTheWholeResponse_GetsAPlainHit_WhenItAsksAgain()
    {
        GatedStore? store = null;
        await using var proxy = await ProxyFixture.StartAsync(
            features: b => b.Services.AddSingleton<ICacheStore>(sp => store = new GatedStore(sp.GetRequiredService<MemoryCacheStore>())));
        const string body = "a whole response";
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=60";
            c.Response.ContentLength = body.Length;
            return c.Response.WriteAsync(body);
        };

        using var first = await proxy.Client.GetAsync("/whole", HttpCompletionOption.ResponseHeadersRead);
        await store!.Entered.Task; // the body went through the gateway and is being stored
        var stream = await first.Content.ReadAsStreamAsync();
        var received = new byte[body.Length];
        await stream.ReadExactlyAsync(received.AsMemory(0, body.Length - 1));
        var last = stream.ReadExactlyAsync(received.AsMemory(body.Length - 1, 1));
        Assert.False(last.IsCompleted, "the client had the whole response before it was stored");
        store.Release.SetResult();
        await last;
        var second = await proxy.GetAsync("/whole");

        Assert.Equal(body, System.Text.Encoding.ASCII.GetString(received));
        Assert.Equal("CacheProxy; hit", second.CacheStatus());
        Assert.Equal(1, proxy.Origin.Calls);
    }

    /// <summary>The memory tier behind a gate: the first write waits until the test releases it.</summary>
    private sealed class GatedStore(ICacheStore inner) : ICacheStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public async ValueTask SetAsync(string key, CacheEntry entry, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Release.Task;
            await inner.SetAsync(key, entry, timeToLive, cancellationToken);
        }

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }
}
