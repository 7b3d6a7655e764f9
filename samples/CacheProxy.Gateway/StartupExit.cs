namespace CacheProxy.Gateway;

/// <summary>
/// The gateway's exit codes when it cannot start (docs/configuration.md#startup-errors), from sysexits.h so that
/// supervisors and scripts can tell an operator's mistake from a crash.
/// </summary>
internal static class StartupExit
{
    /// <summary>EX_CONFIG: the configuration is invalid; every error was logged as one event 1300.</summary>
    public const int InvalidConfiguration = 78;

    /// <summary>EX_UNAVAILABLE: a Kestrel endpoint cannot listen (its address is taken or not this host's); event 1900 names it.</summary>
    public const int EndpointCannotListen = 69;

    /// <summary>
    /// The configured endpoint (<c>Kestrel:Endpoints:NAME:Url</c>) that Kestrel failed to bind in <paramref name="exception"/>,
    /// or null when the exception is not a bind failure. Kestrel names the address, not the endpoint: the name is what
    /// an operator changes.
    /// </summary>
    public static (string Name, string Url)? EndpointThatCannotListen(IConfiguration configuration, IOException exception)
    {
        if (!exception.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal))
        {
            return null;
        }
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            // Kestrel names the address it tried (localhost as 127.0.0.1, a wildcard as 0.0.0.0 or [::]): the port tells.
            var url = endpoint["Url"];
            if (GatewayConfiguration.EndpointUrl(url) is { } uri && System.Text.RegularExpressions.Regex.IsMatch(exception.Message, $@":{uri.Port}(\D|$)"))
            {
                return (endpoint.Key, url!);
            }
        }
        return ("(an address not under Kestrel:Endpoints)", exception.Message);
    }
}

/// <summary>The sample gateway's own log events (1900-1999; the packages' list is in docs/observability.md).</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 1900, EventName = "EndpointCannotListen", Level = LogLevel.Critical,
        Message = "Kestrel endpoint {Endpoint} ({Url}) cannot listen: {Reason}. Set another address with Kestrel__Endpoints__{Endpoint}__Url")]
    public static partial void EndpointCannotListen(ILogger logger, string endpoint, string url, string reason);
}
