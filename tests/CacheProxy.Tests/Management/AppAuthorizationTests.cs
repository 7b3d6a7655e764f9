using System.Net;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Management;

/// <summary>
/// The management plane adds to the app's authorization and replaces nothing of it: an app with its own
/// <see cref="IAuthorizationMiddlewareResultHandler"/> keeps answering its own endpoints its way, and refused
/// management calls are still answered as CacheProxy documents (the scheme's challenge and forbid).
/// </summary>
public sealed class AppAuthorizationTests
{
    /// <summary>The app's handler: its own policy's failures are 418 with a header of its own; everything else as ASP.NET Core does.</summary>
    private sealed class AppResultHandler : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            if (!authorizeResult.Succeeded && policy.Requirements.OfType<AppRequirement>().Any())
            {
                context.Response.StatusCode = StatusCodes.Status418ImATeapot;
                context.Response.Headers["X-App-Refusal"] = "mine";
                return Task.CompletedTask;
            }
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }

    private sealed class AppRequirement : IAuthorizationRequirement;

    /// <summary>Never met: every request to the app's endpoint is refused.</summary>
    private sealed class AppRequirementHandler : AuthorizationHandler<AppRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AppRequirement requirement) => Task.CompletedTask;
    }

    [Fact]
    public async Task AnAppWithItsOwnResultHandler_KeepsIt_AndManagementRefusalsStayProblemJson()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true,
            features: cacheProxy =>
            {
                // Registered after AddCacheProxy(...).AddManagement(), as an app would in any order.
                cacheProxy.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AppResultHandler>();
                cacheProxy.Services.AddSingleton<IAuthorizationHandler, AppRequirementHandler>();
            },
            pipeline: app => app.MapGet("/app/own", () => "never").RequireAuthorization(p => p.AddRequirements(new AppRequirement())));

        var own = await proxy.GetAsync("/app/own");
        var noKey = await proxy.Client.PostAsync("/purge", new StringContent("{\"tags\":[\"a\"]}", System.Text.Encoding.UTF8, "application/json"));
        var health = await proxy.GetAsync("/health/live");

        Assert.Equal((HttpStatusCode)418, own.StatusCode);
        Assert.Equal("mine", own.Headers.GetValues("X-App-Refusal").Single());
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("application/problem+json", noKey.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["Bearer", "Basic realm=\"CacheProxy management\", charset=\"UTF-8\""], noKey.Headers.WwwAuthenticate.Select(c => c.ToString()));
        Assert.Single(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ManagementCallRefused");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
