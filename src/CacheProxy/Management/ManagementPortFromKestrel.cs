using CacheProxy.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheProxy.Management;

/// <summary>
/// Without <see cref="ManagementOptions.Port"/>, the port of the Kestrel endpoint named <c>Management</c>
/// (<c>Kestrel:Endpoints:Management:Url</c>) is the management port: an app that names its endpoints so gets the
/// management plane off the public port without setting it twice.
/// </summary>
internal sealed class ManagementPortFromKestrel(IServiceProvider services) : IPostConfigureOptions<CacheProxyOptions>
{
    public void PostConfigure(string? name, CacheProxyOptions options) =>
        options.Management.Port ??= Port(services.GetService<IConfiguration>()?["Kestrel:Endpoints:Management:Url"]);

    /// <summary>The port of a Kestrel endpoint URL, wildcard hosts (<c>*</c>, <c>+</c>) included; null when it has none.</summary>
    internal static int? Port(string? url)
    {
        if (url is null)
        {
            return null;
        }
        var normalized = url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri) && uri.Port > 0 ? uri.Port : null;
    }
}
