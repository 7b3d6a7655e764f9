using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;

namespace CacheProxy.Gateway;

/// <summary>The gateway's own settings: where its upstream is, where extra settings files are, its management port.</summary>
internal static class GatewayConfiguration
{
    public const string UpstreamKey = "ReverseProxy:Clusters:origin:Destinations:primary:Address";

    /// <summary>The environment variable naming a directory of extra settings files; default <c>/etc/cacheproxy</c>.</summary>
    public const string SettingsDirectoryVariable = "CACHEPROXY_SETTINGS_DIR";

    /// <summary>
    /// Adds every <c>*.json</c> file of the settings directory (a mounted ConfigMap or Secret), in name order, each
    /// reloaded when it changes. They rank above appsettings*.json and below environment variables and the command line.
    /// A file that cannot be read gives the error to print (nothing may start on half a configuration); null when all
    /// were added. Once running, a file that fails to reload keeps its last good content (docs/configuration.md).
    /// </summary>
    public static string? AddSettingsDirectory(ConfigurationManager configuration)
    {
        var directory = Environment.GetEnvironmentVariable(SettingsDirectoryVariable) ?? "/etc/cacheproxy";
        if (!Directory.Exists(directory))
        {
            return null;
        }
        var insertAt = configuration.Sources.ToList().FindLastIndex(s => s is JsonConfigurationSource) + 1;
        foreach (var file in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var source = new JsonConfigurationSource { Path = file, Optional = true, ReloadOnChange = true };
            source.ResolveFileProvider(); // a provider for the file's directory, as AddJsonFile does for an absolute path
            try
            {
                configuration.Sources.Insert(insertAt++, source);
            }
            catch (InvalidDataException ex)
            {
                return $"Configuration error: the settings file {file} cannot be read ({ex.InnerException?.Message ?? ex.Message}). Nothing was started.";
            }
        }
        return null;
    }

    /// <summary>The URL of the Kestrel endpoint named Management, a wildcard host (<c>*</c>, <c>+</c>) as <c>localhost</c>.</summary>
    public static Uri? ManagementUrl(IConfiguration configuration) => EndpointUrl(configuration["Kestrel:Endpoints:Management:Url"]);

    /// <summary>A Kestrel endpoint's URL as a <see cref="Uri"/> with a port, a wildcard host (<c>*</c>, <c>+</c>) as <c>localhost</c>; null when it is none.</summary>
    public static Uri? EndpointUrl(string? url)
    {
        if (url is null)
        {
            return null;
        }
        // Kestrel accepts wildcard hosts (http://*:5081, http://+:5081) that Uri does not parse.
        var normalized = url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri) && uri.Port > 0 ? uri : null;
    }
}

/// <summary>The sample's one upstream, <c>ReverseProxy:Clusters:origin:Destinations:primary</c>.</summary>
internal sealed class UpstreamOptions
{
    public string? Address { get; set; }
}

/// <summary>Refuses startup, with every other configuration error, when the upstream is missing or not absolute http(s).</summary>
internal sealed class UpstreamValidator : IValidateOptions<UpstreamOptions>
{
    public ValidateOptionsResult Validate(string? name, UpstreamOptions options)
    {
        var address = options.Address;
        if (string.IsNullOrWhiteSpace(address))
        {
            return ValidateOptionsResult.Fail(
                $"No upstream configured: set {GatewayConfiguration.UpstreamKey} (environment: ReverseProxy__Clusters__origin__Destinations__primary__Address), e.g. http://127.0.0.1:8080/.");
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return ValidateOptionsResult.Fail($"The upstream address '{address}' in {GatewayConfiguration.UpstreamKey} is not an absolute http:// or https:// URL.");
        }
        return ValidateOptionsResult.Success;
    }
}
