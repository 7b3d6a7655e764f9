using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace CacheProxy.Configuration;

/// <summary>The route ids YARP's configuration providers give, to check <c>CacheProxy:Routes</c> against.</summary>
internal static class ProxyRoutes
{
    /// <summary>Every route id of every YARP configuration provider; empty without YARP.</summary>
    public static IEnumerable<string> Known(IServiceProvider services) =>
        services.GetServices<IProxyConfigProvider>().SelectMany(p => p.GetConfig().Routes).Select(r => r.RouteId).Order(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The ids under <c>CacheProxy:Routes</c> that no YARP route has; none when the app has no YARP provider or YARP
    /// cannot read its own configuration (YARP reports that itself).
    /// </summary>
    public static IEnumerable<string> Unknown(IServiceProvider services, CacheProxyOptions options)
    {
        if (options.Routes.Count == 0 || !services.GetServices<IProxyConfigProvider>().Any())
        {
            return [];
        }
        HashSet<string> known;
        try
        {
            known = Known(services).ToHashSet(StringComparer.OrdinalIgnoreCase);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return [];
        }
        return options.Routes.Keys.Where(id => !known.Contains(id)).Order(StringComparer.OrdinalIgnoreCase).ToList();
    }
}
