using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Experiments;

/// <summary>A request's buckets, one per experiment of its route, and the cookies that keep them.</summary>
internal sealed class ExperimentAssignment
{
    public List<(string Experiment, string Bucket, string Header, string CookieName)> Buckets { get; } = [];

    /// <summary>Gets the Set-Cookie values to send: a visitor assigned, moved by a change of weights, or reassigned from a value that was no bucket.</summary>
    public List<string> SetCookies { get; } = [];

    /// <summary>Gets the <c>experiment</c> metric dimension's value: <c>name=bucket</c>, comma-separated.</summary>
    public string MetricValue => string.Join(',', Buckets.Select(b => b.Experiment + "=" + b.Bucket));
}

/// <summary>
/// Assigns a route's visitors to the buckets of its experiments (<c>CacheProxy:Experiments</c>, docs/experiments.md)
/// with <see cref="ExperimentBuckets"/>, sticky through a cookie holding a random seed; a cookie value that is no
/// bucket's is replaced by a new assignment, never keyed on. On the full path (<see cref="Apply"/>) the bucket goes
/// upstream in a header and into the key, the experiment's cookie stays here, and the response carries the cookie
/// when it changed, and <c>Vary: Cookie</c> for caches further down.
/// </summary>
internal sealed class ExperimentAssignments(LastGoodOptions options, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>The request's assignment on route <paramref name="routeId"/> (made once per request), or null when the route has no experiment.</summary>
    public ExperimentAssignment? Assign(HttpContext http, string routeId)
    {
        if (http.Features.Get<ExperimentAssignment>() is { } made)
        {
            return made;
        }
        var current = options.Current;
        if (!current.Routes.TryGetValue(routeId, out var route) || route.Experiments.Count == 0)
        {
            return null;
        }
        var assignment = new ExperimentAssignment();
        var cookies = http.Request.Headers.Cookie;
        foreach (var name in route.Experiments)
        {
            if (!current.Experiments.TryGetValue(name, out var experiment))
            {
                continue; // refused by validation; a reload that removed it keeps the last good options
            }
            var cookieName = CookieName(name, experiment);
            var value = CookieHeader.Value(cookies, cookieName);
            string? outcome = null;
            string? kept = null;
            ulong seed;
            if (value is null)
            {
                seed = ExperimentBuckets.NewSeed();
                outcome = "assigned";
            }
            else if (!ExperimentBuckets.TryParse(value, out kept, out seed))
            {
                seed = ExperimentBuckets.NewSeed();
                outcome = "reassigned";
                Log.ExperimentCookieReassigned(_logger, name, routeId, value.Length);
            }
            if (ExperimentBuckets.Pick(name, experiment.Buckets, seed) is not { } bucket)
            {
                continue;
            }
            if (outcome is null && kept != bucket)
            {
                outcome = "moved"; // its weights changed; the cookie says what the visitor is in now
            }
            if (outcome is not null)
            {
                assignment.SetCookies.Add(SetCookie(cookieName, ExperimentBuckets.CookieValue(bucket, seed), experiment));
                metrics.ExperimentAssignments.Add(1, new("experiment", name), new("bucket", bucket), new("outcome", outcome));
            }
            assignment.Buckets.Add((name, bucket, experiment.Header ?? "CacheProxy-Experiment-" + name, cookieName));
        }
        http.Features.Set(assignment);
        return assignment;
    }

    /// <summary>The full path of a request on a route with experiments: its buckets upstream and in its key; the response's fields when it starts.</summary>
    public void Apply(CacheContext context)
    {
        var http = context.HttpContext;
        if (Assign(http, context.RouteId) is not { Buckets.Count: > 0 } assignment)
        {
            return;
        }
        var headers = http.Request.Headers;
        foreach (var (experiment, bucket, header, _) in assignment.Buckets)
        {
            headers[header] = bucket; // whatever a client sent under that name is replaced
            (context.KeyedHeaders ??= []).Add(new("experiment:" + experiment, bucket));
        }
        // The origin learns the bucket from the header; the cookie is the gateway's, and would count as a credential.
        CookieHeader.Keep(headers, name => !assignment.Buckets.Exists(b => b.CookieName == name));
        http.Response.OnStarting(static state =>
        {
            var (http, assignment) = ((HttpContext, ExperimentAssignment))state;
            var response = http.Response.Headers;
            response.Append(HeaderNames.Vary, HeaderNames.Cookie); // a cache further down must not give one bucket's page to another
            if (assignment.SetCookies.Count > 0)
            {
                foreach (var cookie in assignment.SetCookies)
                {
                    response.Append(HeaderNames.SetCookie, cookie);
                }
                response.Append(HeaderNames.CacheControl, "private"); // nor store one visitor's cookie for the next
            }
            return Task.CompletedTask;
        }, (http, assignment));
    }

    public static string CookieName(string experiment, ExperimentOptions options) => options.CookieName ?? "cp_exp_" + experiment;

    private static string SetCookie(string name, string value, ExperimentOptions experiment) => new CookieOptions
    {
        MaxAge = experiment.CookieMaxAge,
        Domain = experiment.CookieDomain,
        Path = "/",
        Secure = experiment.Secure,
        HttpOnly = experiment.HttpOnly,
        SameSite = experiment.SameSite,
    }.CreateCookieHeader(name, value).ToString();
}

/// <summary>The <c>experiment</c> dimension of <c>cacheproxy.requests</c>: <c>name=bucket</c> of the route's experiments, so that requests and hit ratio are counted per bucket.</summary>
// The assignments come from the provider when first needed: they need the metrics, which need the dimensions.
internal sealed class ExperimentMetricDimension(IServiceProvider services) : IRequestMetricDimension
{
    private ExperimentAssignments? _assignments;

    public string Name => "experiment";

    public string? GetValue(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<Yarp.ReverseProxy.Model.RouteModel>() is { } route
            ? (_assignments ??= services.GetRequiredService<ExperimentAssignments>()).Assign(context, route.Config.RouteId)?.MetricValue
            : null;
}
