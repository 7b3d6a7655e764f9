using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>No single client breaks request collapsing.</summary>
public sealed class CollapsingTests
{
    [Fact]
    public async Task WhenTheLeadersClientLeaves_OneFollowerLeadsTheNextFetch_AndTheOthersWaitForIt()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            await gate.Task.WaitAsync(c.RequestAborted); // the origin is slow until the test says
            c.Response.Headers.CacheControl = "max-age=60";
            await c.Response.WriteAsync("page");
        };
        using var leaving = new CancellationTokenSource();
        var leader = proxy.Client.GetAsync("/slow", leaving.Token);
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1);
        var followers = Enumerable.Range(0, 50).Select(_ => proxy.Client.GetAsync("/slow")).ToList();
        await proxy.WaitForCollapseWaitersAsync(50);

        await leaving.CancelAsync(); // the leading client disconnects; YARP cancels its upstream request
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls >= 2); // a follower leads the next fetch
        gate.SetResult();
        var responses = await Task.WhenAll(followers);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync())), body => Assert.Equal("page", body));
        Assert.Equal(2, proxy.Origin.Calls); // not 51
    }
}
