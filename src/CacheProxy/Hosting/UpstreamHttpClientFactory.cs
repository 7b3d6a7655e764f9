using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Hosting;

/// <summary>
/// YARP's client factory with CacheProxy's upstream settings (<see cref="UpstreamOptions"/>): the connect timeout, a
/// bound on connections per destination, a bound on the wait for response headers, and a retry of requests that
/// could not even connect, when they are safe to send again; and a cluster's mutual TLS (<see cref="UpstreamCertificates"/>).
/// </summary>
internal sealed class UpstreamHttpClientFactory(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers, TimeProvider time,
    UpstreamCertificates certificates)
    : ForwarderHttpClientFactory(loggers.CreateLogger<ForwarderHttpClientFactory>())
{
    /// <summary>The response-headers timeout of the request's route, set by <c>CacheTransformProvider</c>.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ResponseHeadersTimeout = new("CacheProxy.ResponseHeadersTimeout");

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectTimeout = options.Current.Upstream.ConnectTimeout;
        if (context.NewConfig.MaxConnectionsPerServer is null)
        {
            handler.MaxConnectionsPerServer = options.Current.Upstream.MaxConnectionsPerServer;
        }
        var cluster = context.ClusterId;
        if (certificates.Configured(cluster))
        {
            // Asked on every new connection: a rotated certificate is presented from the next one on.
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificates.ClientCertificate(cluster)!;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => certificates.ValidateOrigin(cluster, certificate, errors);
            // An HTTP/2 connection under steady load never idles out: without a lifetime it would present the old
            // certificate until the origin closed it. Past its lifetime a connection takes no new request, and finishes
            // those it has; a rotated certificate is on every connection within two TlsReloadIntervals.
            handler.PooledConnectionLifetime = options.Current.Upstream.TlsReloadInterval;
        }
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new UpstreamBounds(options, time, metrics, loggers.CreateLogger(LogCategories.Upstream)) { InnerHandler = base.WrapHandler(context, handler) };

    /// <summary>
    /// Cancels a request whose response headers have not arrived within its route's timeout, and sends a bodiless GET,
    /// HEAD, OPTIONS or TRACE again when no connection could be made for it (within the same timeout). YARP reads the
    /// cancellation as its own request timeout (504); the inner <see cref="UpstreamResponseTimeoutException"/> names
    /// the timeout that fired. The body is not bounded here: the token is released once the headers are in. One
    /// handler and one token source per request: every forwarded request passes here.
    /// </summary>
    private sealed class UpstreamBounds(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, ILogger logger) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var upstream = options.Current.Upstream;
            var timeout = request.Options.TryGetValue(ResponseHeadersTimeout, out var routeTimeout) ? routeTimeout : upstream.ResponseHeadersTimeout;
            using var bound = new CancellationTokenSource(timeout, time);
            // The request's own cancellation reaches the bound token; disposed first, it waits for a running callback.
            using var linked = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), bound);
            var retries = Retryable(request) ? upstream.ConnectRetries : 0;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await base.SendAsync(request, bound.Token);
                }
                catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && attempt <= retries
                    && !bound.IsCancellationRequested)
                {
                    metrics.UpstreamRetries.Add(1);
                    Log.UpstreamConnectRetried(logger, request.RequestUri?.GetLeftPart(UriPartial.Authority), request.Method.Method, attempt + 1, ex);
                }
                catch (OperationCanceledException ex) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new TaskCanceledException(ex.Message, new UpstreamResponseTimeoutException(timeout, ex));
                }
            }
        }

        private static bool Retryable(HttpRequestMessage request) => request.Content is null
            && (HttpMethods.IsGet(request.Method.Method) || HttpMethods.IsHead(request.Method.Method)
                || HttpMethods.IsOptions(request.Method.Method) || HttpMethods.IsTrace(request.Method.Method));
    }
}

/// <summary>The upstream sent no response headers within <see cref="Timeout"/> (<see cref="UpstreamOptions.ResponseHeadersTimeout"/>).</summary>
internal sealed class UpstreamResponseTimeoutException(TimeSpan timeout, Exception inner)
    : TimeoutException($"The upstream sent no response headers within {timeout}.", inner)
{
    public TimeSpan Timeout { get; } = timeout;
}
