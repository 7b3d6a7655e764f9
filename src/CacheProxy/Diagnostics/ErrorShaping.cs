using System.Net.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Diagnostics;

/// <summary>
/// Turns failures the proxy itself answers for — upstream unreachable (502), timed out (504), no destination
/// (503), bad or too large request bodies (400/413), only-if-cached misses (504), unhandled faults (500) — into
/// RFC 9457 problem+json bodies through ASP.NET Core's <see cref="IProblemDetailsService"/>, with the correlation id
/// and error category, and no internal detail outside Development. Every failure is categorised, logged and counted,
/// including the ones that can no longer change the response (a body cut after it started).
/// </summary>
internal sealed class ErrorShaping
{
    private readonly IProblemDetailsService _problems;
    private readonly CacheProxyMetrics _metrics;
    private readonly IHostEnvironment _environment;
    private readonly Configuration.LastGoodOptions _options;
    private readonly ILogger _upstream;
    private readonly ILogger _internal;

    public ErrorShaping(IProblemDetailsService problems, CacheProxyMetrics metrics,
        IHostEnvironment environment, Configuration.LastGoodOptions options, ILoggerFactory loggers)
    {
        _options = options;
        _problems = problems;
        _metrics = metrics;
        _environment = environment;
        _upstream = loggers.CreateLogger(LogCategories.Upstream);
        _internal = loggers.CreateLogger(LogCategories.Internal);
    }

    /// <summary>
    /// A hit being written: finished already (the common case) it is returned as it is; otherwise it is awaited
    /// under the same failure handling as <see cref="InvokeAsync"/>.
    /// </summary>
    public Task Observe(HttpContext context, Task writing) =>
        writing.IsCompletedSuccessfully ? writing : ObserveAsync(context, writing);

    private async Task ObserveAsync(HttpContext context, Task writing)
    {
        try
        {
            await writing;
        }
        catch (Exception ex)
        {
            if (await AnswerFailureAsync(context, ex))
            {
                throw;
            }
        }
    }

    /// <summary>Runs <paramref name="next"/> and answers for what failed in it.</summary>
    public async Task InvokeAsync<TState>(HttpContext context, Func<HttpContext, TState, Task> next, TState state)
    {
        try
        {
            await next(context, state);
        }
        catch (Exception ex)
        {
            if (await AnswerFailureAsync(context, ex))
            {
                throw;
            }
            return;
        }

        if (context.Features.Get<ICacheProxyErrorFeature>() is { } own)
        {
            // Set by the cache itself (only-if-cached); it left the response unwritten for us.
            if (!context.Response.HasStarted)
            {
                await WriteProblemAsync(context, own);
            }
            return;
        }
        if (context.Features.Get<IForwarderErrorFeature>() is not { Error: not ForwarderError.None } forwarder)
        {
            return;
        }
        var error = Classify(forwarder);
        _metrics.Error(error.Category);
        var routeId = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId;
        var destination = context.GetReverseProxyFeature()?.ProxiedDestination?.Model.Config.Address;
        switch (error.Category)
        {
            case ErrorCategory.UpstreamTimeout:
                // The timeout that fired: the route's response-headers timeout, else the cluster's ActivityTimeout,
                // else YARP's default of 100 seconds.
                var timeout = forwarder.Exception?.InnerException is Hosting.UpstreamResponseTimeoutException headers ? headers.Timeout
                    : context.GetReverseProxyFeature()?.Cluster.Config.HttpRequest?.ActivityTimeout ?? TimeSpan.FromSeconds(100);
                Log.UpstreamTimedOut(_upstream, routeId, destination, timeout, forwarder.Exception);
                break;
            case ErrorCategory.UpstreamConnect:
                Log.UpstreamUnreachable(_upstream, routeId, destination, forwarder.Error, forwarder.Exception);
                break;
            case ErrorCategory.UpstreamProtocol:
                Log.UpstreamProtocolError(_upstream, routeId, destination, forwarder.Error, context.Response.HasStarted, forwarder.Exception);
                break;
            default:
                Log.ClientRequestFailed(_upstream, routeId, forwarder.Error, forwarder.Exception?.GetType().Name);
                break;
        }
        if (context.Response.HasStarted || error.Error is null || context.Response.StatusCode < 400)
        {
            // Too late to change the response (YARP aborts it), the client is gone, or the cache answered with a
            // stale response: logged and counted above, nothing more to write.
            return;
        }
        await WriteProblemAsync(context, new CacheProxyErrorFeature(error.Error.Value, error.Category, forwarder.Exception));
    }

    /// <summary>
    /// Counts and logs an exception from the pipeline and answers it with a problem when the response has not
    /// started. True when it must be rethrown: the response started, and Kestrel aborting the connection is the only
    /// way the client sees an incomplete response rather than a wrong one.
    /// </summary>
    private async ValueTask<bool> AnswerFailureAsync(HttpContext context, Exception ex)
    {
        if (ex is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            _metrics.Error(ErrorCategory.Client);
            return false; // the client left; nobody to answer
        }
        Log.UnhandledError(_internal, context.Request.Method, ex);
        _metrics.Error(ErrorCategory.Internal);
        if (context.Response.HasStarted)
        {
            return true;
        }
        await WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.Internal, ErrorCategory.Internal, ex));
        return false;
    }

    /// <summary>
    /// Answers <paramref name="error"/> as problem+json; <paramref name="detail"/> (safe to show) is added in every
    /// environment, <paramref name="headers"/> to the response.
    /// </summary>
    public async Task WriteProblemAsync(HttpContext context, ICacheProxyErrorFeature error, string? detail = null,
        IReadOnlyDictionary<string, object?>? extensions = null, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        context.Features.Set<ICacheProxyErrorFeature>(error);
        var status = ErrorInfo.Status(error.Error);
        var (slug, title) = ErrorInfo.Describe(error.Error);
        var response = context.Response;
        // Whatever the upstream or the cache put there is not part of this answer; the correlation id and
        // Cache-Status are (set again below / kept by name).
        var correlation = context.Features.Get<ICorrelationIdFeature>()?.CorrelationId;
        var cacheStatus = response.Headers[Http.CacheProxyHeaderNames.CacheStatus];
        response.Clear();
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        foreach (var (name, value) in headers ?? [])
        {
            response.Headers.Append(name, value); // a name given twice has two values, e.g. two WWW-Authenticate challenges
        }
        if (!Microsoft.Extensions.Primitives.StringValues.IsNullOrEmpty(cacheStatus))
        {
            response.Headers[Http.CacheProxyHeaderNames.CacheStatus] = cacheStatus;
        }
        var problem = new ProblemDetails
        {
            Type = "urn:cacheproxy:error:" + slug,
            Title = title,
            Status = status,
            Detail = detail ?? (_environment.IsDevelopment() ? error.Exception?.Message : null),
        };
        foreach (var (name, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[name] = value;
        }
        problem.Extensions["category"] = ErrorInfo.Name(error.Category);
        if (correlation is not null)
        {
            problem.Extensions["correlationId"] = correlation;
            response.Headers[_options.Current.Correlation.HeaderName] = correlation;
        }
        await _problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    /// <summary>Maps YARP's error to a category, and to the error we answer with (null: no answer possible).</summary>
    internal static (ErrorCategory Category, CacheProxyError? Error) Classify(IForwarderErrorFeature forwarder) => forwarder.Error switch
    {
        // In YARP's names "Destination" is the upstream and "Client" the client.
        ForwarderError.RequestTimedOut or ForwarderError.UpgradeActivityTimeout => (ErrorCategory.UpstreamTimeout, CacheProxyError.UpstreamTimeout),
        ForwarderError.NoAvailableDestinations => (ErrorCategory.UpstreamConnect, CacheProxyError.NoUpstreamAvailable),
        ForwarderError.Request or ForwarderError.RequestCreation when forwarder.Exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded or HttpRequestError.ConfigurationLimitExceeded,
        } => (ErrorCategory.UpstreamProtocol, CacheProxyError.UpstreamProtocol),
        ForwarderError.Request or ForwarderError.RequestCreation => (ErrorCategory.UpstreamConnect, CacheProxyError.UpstreamUnreachable),
        ForwarderError.ResponseHeaders or ForwarderError.RequestBodyDestination or ForwarderError.ResponseBodyDestination
            or ForwarderError.UpgradeRequestDestination or ForwarderError.UpgradeResponseDestination
            => (ErrorCategory.UpstreamProtocol, CacheProxyError.UpstreamProtocol),
        ForwarderError.RequestBodyClient when StatusInChain(forwarder.Exception) == 413 => (ErrorCategory.Client, CacheProxyError.PayloadTooLarge),
        ForwarderError.RequestBodyClient => (ErrorCategory.Client, CacheProxyError.BadRequest),
        _ => (ErrorCategory.Client, null), // canceled by the client, or writing to the client failed
    };

    /// <summary>The status of a Kestrel <see cref="BadHttpRequestException"/> anywhere in the chain (YARP wraps it).</summary>
    private static int? StatusInChain(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad)
            {
                return bad.StatusCode;
            }
        }
        return null;
    }
}
