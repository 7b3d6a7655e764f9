using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Hosting;

/// <summary>
/// YARP's client factory with CacheProxy's upstream settings (<see cref="UpstreamOptions"/>): the connect timeout, and
/// a retry of requests that could not even connect, when they are safe to send again.
/// </summary>
internal sealed class UpstreamHttpClientFactory(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers)
    : ForwarderHttpClientFactory(loggers.CreateLogger<ForwarderHttpClientFactory>())
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectTimeout = options.Current.Upstream.ConnectTimeout;
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new RetryConnectFailures(options, metrics, loggers.CreateLogger(LogCategories.Upstream)) { InnerHandler = base.WrapHandler(context, handler) };

    /// <summary>Sends a bodiless GET, HEAD, OPTIONS or TRACE again when no connection could be made for it.</summary>
    private sealed class RetryConnectFailures(LastGoodOptions options, CacheProxyMetrics metrics, ILogger logger) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var retries = Retryable(request) ? options.Current.Upstream.ConnectRetries : 0;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await base.SendAsync(request, cancellationToken);
                }
                catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && attempt <= retries
                    && !cancellationToken.IsCancellationRequested)
                {
                    metrics.UpstreamRetries.Add(1);
                    Log.UpstreamConnectRetried(logger, request.RequestUri?.GetLeftPart(UriPartial.Authority), request.Method.Method, attempt + 1, ex);
                }
            }
        }

        private static bool Retryable(HttpRequestMessage request) => request.Content is null
            && (HttpMethods.IsGet(request.Method.Method) || HttpMethods.IsHead(request.Method.Method)
                || HttpMethods.IsOptions(request.Method.Method) || HttpMethods.IsTrace(request.Method.Method));
    }
}
