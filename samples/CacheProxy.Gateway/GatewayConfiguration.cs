namespace CacheProxy.Gateway;

/// <summary>Checks and reads the gateway's own settings.</summary>
internal static class GatewayConfiguration
{
    public const string UpstreamKey = "ReverseProxy:Clusters:origin:Destinations:primary:Address";

    /// <summary>Stops startup with a clear message when the upstream address is missing or not absolute http(s).</summary>
    public static void ValidateUpstream(IConfiguration configuration)
    {
        var address = configuration[UpstreamKey];
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new InvalidOperationException(
                $"No upstream configured: set {UpstreamKey} (environment: ReverseProxy__Clusters__origin__Destinations__primary__Address), e.g. http://127.0.0.1:8080/.");
        }
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"The upstream address '{address}' in {UpstreamKey} is not an absolute http:// or https:// URL.");
        }
    }

    /// <summary>The port of the Kestrel endpoint named Management, when it is configured.</summary>
    public static int? ManagementPort(IConfiguration configuration)
    {
        var url = configuration["Kestrel:Endpoints:Management:Url"];
        if (url is null)
        {
            return null;
        }
        // Kestrel accepts wildcard hosts (http://*:5081, http://+:5081) that Uri does not parse.
        var normalized = url.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri) && uri.Port > 0 ? uri.Port : null;
    }
}
