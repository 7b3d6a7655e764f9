using Microsoft.AspNetCore.Http;

namespace CacheProxy.Management;

/// <summary>Registered by <c>AddManagement</c>: <c>MapCacheProxyManagement</c> checks for it.</summary>
internal sealed class ManagementMarker;

/// <summary>Marks an endpoint as part of the management plane.</summary>
internal sealed class ManagementEndpointMetadata
{
    public static readonly ManagementEndpointMetadata Instance = new();
}

/// <summary>
/// Keeps the management plane and the public listener apart by the local port the connection arrived on
/// (not the Host header, which a client controls): management endpoints answer only on the management port,
/// and nothing else answers there.
/// </summary>
internal sealed class ManagementPortGate(CacheProxy.Configuration.LastGoodOptions options,
    CacheProxy.Diagnostics.CacheProxyMetrics metrics, Microsoft.Extensions.Logging.ILoggerFactory loggers)
{
    private readonly Microsoft.Extensions.Logging.ILogger _security = loggers.CreateLogger(CacheProxy.LogCategories.Security);

    /// <summary>Whether the request is on the port its endpoint belongs to (always, without a management port).</summary>
    public bool Admits(HttpContext context)
    {
        if (options.Current.Management.Port is not int port)
        {
            return true;
        }
        var isManagementEndpoint = context.GetEndpoint()?.Metadata.GetMetadata<ManagementEndpointMetadata>() is not null;
        return isManagementEndpoint == (context.Connection.LocalPort == port);
    }

    /// <summary>Answers 404 to a request <see cref="Admits"/> refused; a management call on the public port is logged and counted.</summary>
    public void Refuse(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ManagementEndpointMetadata>() is not null)
        {
            // A management endpoint asked for on the public port: refused, logged and counted.
            CacheProxy.Diagnostics.Log.ManagementCallRefused(_security, context.Request.Method, context.Request.Path.Value ?? string.Empty,
                context.Connection.RemoteIpAddress?.ToString(), context.Connection.LocalPort, "not the management port");
            metrics.RefusedManagementCalls.Add(1, new KeyValuePair<string, object?>("reason", "wrong_port"));
        }
        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }
}
