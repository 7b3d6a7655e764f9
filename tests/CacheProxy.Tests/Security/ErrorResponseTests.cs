using System.Net;
using CacheProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Tests.Security;

/// <summary>An error that an unkeyed input can provoke never displaces a good stored response, nor outlives an outage.</summary>
public sealed class ErrorResponseTests
{
    [Theory]
    [InlineData(StatusCodes.Status404NotFound)]
    [InlineData(StatusCodes.Status400BadRequest)]
    [InlineData(StatusCodes.Status500InternalServerError)]
    public async Task AnExplicitlyCacheableError_PassesThrough_AndTheStoredSuccessStays(int errorStatus)
    {
        await using var proxy = await ProxyFixture.StartAsync();
        var answer = StatusCodes.Status200OK;
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = answer;
            c.Response.Headers.CacheControl = answer == StatusCodes.Status200OK ? "max-age=1" : "max-age=600";
            return c.Response.WriteAsync(answer == StatusCodes.Status200OK ? "good" : "error");
        };
        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        answer = errorStatus; // e.g. provoked by a field the key ignores, on the revalidating request

        var error = await proxy.GetAsync("/e");
        answer = StatusCodes.Status200OK;
        var after = await proxy.GetAsync("/e");

        Assert.Equal(errorStatus, (int)error.StatusCode);
        Assert.DoesNotContain("stored", error.CacheStatus(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode); // not the error, fresh for 600 s
        Assert.Equal("good", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task WithErrorsReplaceStoredSuccess_TheErrorIsStoredAsBefore()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.ErrorsReplaceStoredSuccess = true);
        var answer = StatusCodes.Status200OK;
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = answer;
            c.Response.Headers.CacheControl = answer == StatusCodes.Status200OK ? "max-age=1" : "max-age=600";
            return c.Response.WriteAsync("x");
        };
        await proxy.GetAsync("/e");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        answer = StatusCodes.Status404NotFound;
        await proxy.GetAsync("/e");
        answer = StatusCodes.Status200OK;

        Assert.Equal(HttpStatusCode.NotFound, (await proxy.GetAsync("/e")).StatusCode);
    }

    [Fact]
    public async Task AStoredError_IsNotServedStale_WhenTheUpstreamIsUnreachable()
    {
        await using var proxy = await ProxyFixture.StartAsync();
        proxy.Origin.Handler = c =>
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            c.Response.Headers.CacheControl = "max-age=1";
            return c.Response.WriteAsync("not here");
        };
        await proxy.GetAsync("/gone");
        proxy.Time.Advance(TimeSpan.FromSeconds(5));
        proxy.Origin.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        var response = await proxy.GetAsync("/gone");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }
}
