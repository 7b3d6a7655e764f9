namespace CacheProxy.Configuration;

/// <summary>
/// How CacheProxy connects to upstreams (<c>CacheProxy:Upstream</c>), beside what YARP configures per cluster:
/// <c>HttpRequest:ActivityTimeout</c> (response headers and body activity) and <c>HttpClient:MaxConnectionsPerServer</c>
/// (the connection pool per destination). docs/operations/limits.md.
/// </summary>
public sealed class UpstreamOptions
{
    /// <summary>
    /// Gets or sets how long establishing a connection to an upstream (TCP and TLS) may take. Read when YARP creates a
    /// cluster's client: at startup and when the cluster's configuration changes.
    /// </summary>
    /// <value>100 ms to 5 minutes. Default 5 seconds (YARP's own default is 15).</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how many more times a GET, HEAD, OPTIONS or TRACE without a body is sent when no connection to the
    /// upstream could be made (refused, unreachable, connect timeout). Nothing was sent, so nothing can happen twice;
    /// a request with a body, or any other method, is never retried, nor is one whose connection failed after it was
    /// made.
    /// </summary>
    /// <value>0 to 3. Default 1.</value>
    public int ConnectRetries { get; set; } = 1;

    /// <summary>
    /// Gets or sets how long a forwarded request may wait for the upstream's response headers: from when it is handed
    /// to the connection pool (time queued for a connection under <see cref="MaxConnectionsPerServer"/> counts) until
    /// the status line arrives. Then 504 problem+json. The body that follows is bounded by YARP's
    /// <c>HttpRequest:ActivityTimeout</c> per read instead. A route can set its own
    /// (<see cref="RouteCacheOptions.ResponseHeadersTimeout"/>).
    /// </summary>
    /// <value>100 ms to 1 hour. Default 60 seconds (Varnish's <c>first_byte_timeout</c>, below YARP's 100-second activity timeout).</value>
    public TimeSpan ResponseHeadersTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets how many connections each upstream destination gets at most, for clusters whose
    /// <c>HttpClient:MaxConnectionsPerServer</c> is not set (YARP's and .NET's own default is unbounded). Requests
    /// beyond it queue for a connection, bounded by <see cref="ResponseHeadersTimeout"/>. Read when YARP creates a
    /// cluster's client.
    /// </summary>
    /// <value>1 to 65,535. Default 1,024 (Envoy's default circuit-breaker limit).</value>
    public int MaxConnectionsPerServer { get; set; } = 1024;

    /// <summary>
    /// Gets mutual TLS to upstreams, by YARP cluster id (<c>CacheProxy:Upstream:Tls:{clusterId}</c>): the client
    /// certificate the gateway presents, and the private CAs the origin's certificate must chain to. The files are read
    /// at startup and again when they change (checked every <see cref="TlsReloadInterval"/>), without dropping a
    /// request. docs/operations/service-mesh.md.
    /// </summary>
    public IDictionary<string, UpstreamTlsOptions> Tls { get; } = new Dictionary<string, UpstreamTlsOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets how often the files of <see cref="Tls"/> are checked for a change (a rotation by cert-manager or a mesh).</summary>
    /// <value>1 second to 1 hour. Default 30 seconds.</value>
    public TimeSpan TlsReloadInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Mutual TLS to one upstream cluster (<c>CacheProxy:Upstream:Tls:{clusterId}</c>).</summary>
public sealed class UpstreamTlsOptions
{
    /// <summary>
    /// Gets or sets the client certificate's file: PEM (the certificate, then any intermediates, with
    /// <see cref="KeyPath"/>), or PKCS#12 (<c>.p12</c>, <c>.pfx</c>: certificate and key in one, with <see cref="Password"/>).
    /// </summary>
    /// <value>Null: no client certificate.</value>
    public string? CertificatePath { get; set; }

    /// <summary>Gets or sets the PEM private key of a PEM <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Gets or sets the password of a PKCS#12 file or of an encrypted PEM key. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Gets or sets a PEM file of the CA certificates the origin's certificate must chain to, in place of the
    /// system's trusted roots (a mesh's or a company's private CA). The origin's name is still checked.
    /// </summary>
    /// <value>Null: the system's trusted roots.</value>
    public string? CaBundlePath { get; set; }

    /// <summary>Gets or sets how long before the client certificate expires readiness turns Degraded.</summary>
    /// <value>Default 14 days.</value>
    public TimeSpan ExpiryWarning { get; set; } = TimeSpan.FromDays(14);
}
