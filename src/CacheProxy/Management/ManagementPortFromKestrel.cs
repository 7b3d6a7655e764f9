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
    internal static int? Port(string? url) => url is not null && LoopbackUri(url) is { Port: > 0 } uri ? uri.Port : null;

    /// <summary>
    /// A listen address (<c>http://*:8080</c>, <c>http://+:8080</c>, <c>http://[::]:8080</c>, <c>http://0.0.0.0:8080</c>,
    /// or a host) as a URL this process can call itself at: any-address hosts become 127.0.0.1. Null when it is no URL.
    /// </summary>
    internal static Uri? LoopbackUri(string address)
    {
        var normalized = address.Replace("://*", "://127.0.0.1", StringComparison.Ordinal).Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri) ? uri : null;
    }
}
