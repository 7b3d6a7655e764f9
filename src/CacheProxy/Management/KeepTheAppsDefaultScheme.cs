using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CacheProxy.Management;

/// <summary>
/// ASP.NET Core makes an app's only authentication scheme its default, and with two schemes it picks none. So the
/// management plane's scheme (<see cref="CacheProxyManagementDefaults.AuthenticationScheme"/>), added beside an app's
/// one scheme, would take that scheme's default away, and the app's <c>[Authorize]</c> endpoints would fail (no
/// default challenge scheme). This names the app's scheme the default exactly when ASP.NET Core would have without
/// the management plane: one other scheme, no default of any kind set, the automatic default not suppressed. The
/// management endpoints name their own scheme and are not affected.
/// </summary>
internal sealed class KeepTheAppsDefaultScheme : IPostConfigureOptions<AuthenticationOptions>
{
    public void PostConfigure(string? name, AuthenticationOptions options)
    {
        if (options.DefaultScheme is not null || options.DefaultAuthenticateScheme is not null || options.DefaultChallengeScheme is not null
            || options.DefaultForbidScheme is not null || options.DefaultSignInScheme is not null || options.DefaultSignOutScheme is not null
            || (AppContext.TryGetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", out var suppressed) && suppressed))
        {
            return;
        }
        var apps = options.Schemes.Where(s => s.Name != CacheProxyManagementDefaults.AuthenticationScheme).Take(2).ToList();
        if (apps.Count == 1)
        {
            options.DefaultScheme = apps[0].Name;
        }
    }
}
