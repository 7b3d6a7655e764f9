using System.Net;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>Why a management call was refused; the <c>reason</c> tag of <c>cacheproxy.management.refused</c>.</summary>
internal enum Refusal
{
    None,
    WrongPort,
    Network,
    RateLimited,
    NoKey,
    WrongKey,
}

/// <summary>The one requirement of <see cref="CacheProxyManagementDefaults.Policy"/>; its handler says why when it fails.</summary>
internal sealed class ManagementAccessRequirement : IAuthorizationRequirement
{
    public static readonly ManagementAccessRequirement Instance = new();

    public const string RefusalItem = "CacheProxy.Management.Refusal";
}

/// <summary>
/// A management call is allowed when it came in on the management port (<see cref="ManagementOptions.Port"/>), from
/// an allowed network (<see cref="ManagementOptions.AllowedNetworks"/>, loopback by default), and — for purge
/// always, for health and metrics when configured — with an API key. Decided per request from the options in effect,
/// so keys and networks reload.
/// </summary>
internal sealed class ManagementAccessHandler(LastGoodOptions options) : AuthorizationHandler<ManagementAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ManagementAccessRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            return Task.CompletedTask;
        }
        var refusal = Decide(http, context.User);
        if (refusal == Refusal.None)
        {
            context.Succeed(requirement);
        }
        else
        {
            http.Items[ManagementAccessRequirement.RefusalItem] = refusal;
            context.Fail();
        }
        return Task.CompletedTask;
    }

    private Refusal Decide(HttpContext http, System.Security.Claims.ClaimsPrincipal user)
    {
        var management = options.Current.Management;
        if (management.Port is int port && http.Connection.LocalPort != port)
        {
            return Refusal.WrongPort;
        }
        if (!Allowed(http.Connection.RemoteIpAddress, management.AllowedNetworks))
        {
            return Refusal.Network;
        }
        if (!NeedsKey(http.Request.Path, management) || user.Identity is { IsAuthenticated: true, AuthenticationType: CacheProxyManagementDefaults.AuthenticationScheme })
        {
            return Refusal.None;
        }
        return http.Items.ContainsKey(ApiKeyAuthenticationHandler.RateLimitedItem) ? Refusal.RateLimited
            : http.Items.ContainsKey(ApiKeyAuthenticationHandler.PresentedKeyItem) ? Refusal.WrongKey
            : Refusal.NoKey;
    }

    private static bool NeedsKey(PathString path, ManagementOptions management) =>
        path.StartsWithSegments("/health") ? management.RequireApiKeyForHealth
        : path.StartsWithSegments("/metrics") ? management.RequireApiKeyForMetrics
        : true;

    // No address (an in-process caller, a Unix socket) is local.
    private static bool Allowed(IPAddress? address, IList<string> networks) =>
        address is null || Networks.Contains(networks.Count == 0 ? Networks.Loopback : Networks.Parse(networks), address);
}
