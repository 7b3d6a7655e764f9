using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Benchmarks;

/// <summary>What every benchmark of the pipeline stands on: the services a Production app has, and the endpoint routing would pick.</summary>
internal static class BenchmarkHost
{
    /// <summary>A service collection with logging at Information and a Production host environment, before <c>AddCacheProxy</c>.</summary>
    public static ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Information));
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostEnvironment>(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment
        {
            EnvironmentName = Microsoft.Extensions.Hosting.Environments.Production,
        });
        return services;
    }

    /// <summary>A request routed to <paramref name="endpoint"/>, its response body kept in a MemoryStream (<see cref="ServeAsync"/> empties it).</summary>
    public static DefaultHttpContext Routed(IServiceProvider services, Endpoint endpoint, string method, string path)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("bench.local");
        context.Request.Path = path;
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>(
            new StreamResponseBodyFeature(new MemoryStream()));
        context.SetEndpoint(endpoint);
        return context;
    }

    /// <summary>
    /// <paramref name="context"/> through <paramref name="pipeline"/> once more, reset as a server does between requests:
    /// no response headers, status 200, an empty body, the id the last run echoed not sent again.
    /// </summary>
    public static Task ServeAsync(RequestDelegate pipeline, DefaultHttpContext context)
    {
        context.Response.Headers.Clear();
        context.Response.StatusCode = 200;
        context.Request.Headers.Remove("X-Request-ID");
        ((MemoryStream)context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()!.Stream).SetLength(0);
        return pipeline(context);
    }

    /// <summary>Throws unless <paramref name="context"/>'s last response was a hit of <paramref name="length"/> bytes: a benchmark measures what it says.</summary>
    public static void EnsureHit(DefaultHttpContext context, long length)
    {
        var written = (MemoryStream)context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()!.Stream;
        if (!context.Response.Headers["Cache-Status"].ToString().Contains("hit", StringComparison.Ordinal) || written.Length != length)
        {
            throw new InvalidOperationException($"not a hit of {length} bytes: {context.Response.Headers["Cache-Status"]}, {written.Length} bytes");
        }
    }

    /// <summary>The endpoint of a YARP route <c>all</c>, as routing sets it for a proxied request.</summary>
    public static Endpoint ProxiedEndpoint()
    {
        var route = new RouteModel(new RouteConfig { RouteId = "all", ClusterId = "origin" }, cluster: null, HttpTransformer.Default);
        return new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(route), "all");
    }
}
