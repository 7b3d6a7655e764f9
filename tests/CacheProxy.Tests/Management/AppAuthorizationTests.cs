using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

    /// <summary>The app's one scheme: a request with X-User is that user; its challenge is a 401 of its own.</summary>
    private sealed class AppScheme(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggers, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggers, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(Request.Headers.TryGetValue("X-User", out var user)
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], "App")), "App"))
                : AuthenticateResult.NoResult());

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers["X-App-Challenge"] = "mine";
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task AnAppWhoseOneSchemeIsItsDefault_KeepsItsDefault_BesideTheManagementScheme()
    {
        // Without KeepTheAppsDefaultScheme the management scheme made two, ASP.NET Core picked no default, and the
        // app's endpoint failed with "No authenticationScheme was specified" (a 500) for every request.
        await using var proxy = await ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true,
            features: cacheProxy => cacheProxy.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, AppScheme>("App", null),
            pipeline: app => app.MapGet("/app/me", (ClaimsPrincipal user) => user.Identity!.Name).RequireAuthorization());

        var signedIn = await proxy.GetAsync("/app/me", ("X-User", "ada"));
        var anonymous = await proxy.GetAsync("/app/me");
        var noKey = await proxy.Client.PostAsync("/purge", new StringContent("{\"tags\":[\"a\"]}", System.Text.Encoding.UTF8, "application/json"));
        var withKey = await PurgeTests.PurgeAsync(proxy.Client, "/purge", new { tags = new[] { "a" } });

        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal("ada", await signedIn.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("mine", anonymous.Headers.GetValues("X-App-Challenge").Single());
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("application/problem+json", noKey.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }
}
