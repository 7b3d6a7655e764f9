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

    /// <summary>The endpoint of a YARP route <c>all</c>, as routing sets it for a proxied request.</summary>
    public static Endpoint ProxiedEndpoint()
    {
        var route = new RouteModel(new RouteConfig { RouteId = "all", ClusterId = "origin" }, cluster: null, HttpTransformer.Default);
        return new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(route), "all");
    }
}
