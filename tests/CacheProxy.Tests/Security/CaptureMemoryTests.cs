using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Security;

/// <summary>
/// The bodies kept for the store at once are bounded (<c>CacheProxy:CaptureMemoryLimit</c>): past it a response is
/// streamed whole and not stored, with an event and a metric, instead of the process running out of memory.
/// </summary>
public sealed class CaptureMemoryTests
{
    private const int Limit = 1024 * 1024;

    private static byte[] Body(int size) => [.. Enumerable.Range(0, size).Select(i => (byte)(i * 7))];

    /// <summary>
    /// An origin whose <c>/held</c> response stops after <paramref name="heldBytes"/> until <paramref name="release"/>
    /// (its copy is then being kept), and whose other paths answer <paramref name="body"/> at once; Content-Length
    /// only when <paramref name="contentLength"/>.
    /// </summary>
    private static Func<HttpContext, Task> Origin(byte[] body, int heldBytes, TaskCompletionSource release, bool contentLength) => async c =>
    {
        c.Response.Headers.CacheControl = "max-age=600";
        if (contentLength)
        {
            c.Response.ContentLength = body.Length;
        }
        if (c.Request.Path == "/held")
        {
            await c.Response.Body.WriteAsync(body.AsMemory(0, heldBytes));
            await c.Response.Body.FlushAsync();
            await release.Task;
            await c.Response.Body.WriteAsync(body.AsMemory(heldBytes));
            return;
        }
        await c.Response.Body.WriteAsync(body);
    };

    // Pooled buffers come in powers of two. Content-Length 700 KiB: the held copy takes 1 MiB, so the other has no
    // room from the start, and its Cache-Status does not say stored. Chunked 400 KiB: the held copy takes 512 KiB, and
    // the other's outgrows the room midway (256 KiB to 512 KiB), after its Cache-Status went out.
    [Theory]
    [InlineData(true, 700)]
    [InlineData(false, 400)]
    public async Task AResponseBeyondTheLimit_IsStreamedWhole_NotStored_WithAnEventAndAMetric(bool contentLength, int kib)
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.CaptureMemoryLimit = Limit);
        var body = Body(kib * 1024);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heldBytes = contentLength ? 1024 : 300 * 1024;
        proxy.Origin.Handler = Origin(body, heldBytes, release, contentLength);
        using var skipped = proxy.Collect<long>("cacheproxy.capture.skipped");

        using var heldRequest = new HttpRequestMessage(HttpMethod.Get, "/held");
        using var held = await proxy.Client.SendAsync(heldRequest, HttpCompletionOption.ResponseHeadersRead);
        var heldStream = await held.Content.ReadAsStreamAsync();
        var received = new byte[body.Length];
        await heldStream.ReadExactlyAsync(received.AsMemory(0, heldBytes)); // the gateway kept these before passing them on
        var other = await proxy.GetAsync("/other");

        Assert.Equal(body, await other.Content.ReadAsByteArrayAsync());
        Assert.Equal(contentLength, !other.CacheStatus().Contains("stored", StringComparison.Ordinal));
        var counted = Assert.Single(skipped.GetMeasurementSnapshot());
        Assert.Equal("limit", counted.Tags["reason"]);
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "CaptureSkipped");

        release.SetResult();
        await heldStream.ReadExactlyAsync(received.AsMemory(heldBytes));
        Assert.Equal(body, received);
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/held")).CacheStatus(), StringComparison.Ordinal); // within the limit: stored
        Assert.Contains("fwd=miss", (await proxy.GetAsync("/other")).CacheStatus(), StringComparison.Ordinal); // was not stored
        Assert.StartsWith("CacheProxy; hit", (await proxy.GetAsync("/other")).CacheStatus(), StringComparison.Ordinal); // room again now
    }
}
