using CacheProxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Prometheus exposition of CacheProxy's metrics.</summary>
public static class CacheProxyMetricsBuilderExtensions
{
    /// <summary>
    /// Exports the CacheProxy meter and the runtime's <c>System.Runtime</c> meter (GC heap, working set, thread pool:
    /// observed only when scraped) in Prometheus text format at <c>/metrics</c> on the management port (mapped by
    /// <c>MapCacheProxyManagement</c>).
    /// </summary>
    /// <param name="builder">The CacheProxy builder.</param>
    /// <param name="includeAspNetCoreMeters">
    /// Also export ASP.NET Core's <c>Microsoft.AspNetCore.Hosting</c> and <c>Microsoft.AspNetCore.Server.Kestrel</c>
    /// meters. Off by default: they record a many-tag histogram for every request, which costs a cache hit about a
    /// microsecond of CPU (docs/performance.md).
    /// </param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddPrometheus(this ICacheProxyBuilder builder, bool includeAspNetCoreMeters = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddCacheProxyInstrumentation().AddMeter("System.Runtime").AddPrometheusExporter();
            if (includeAspNetCoreMeters)
            {
                metrics.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
            }
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IManagementEndpointProvider, PrometheusEndpointProvider>());
        return builder;
    }

    private sealed class PrometheusEndpointProvider : IManagementEndpointProvider
    {
        public void MapEndpoints(IEndpointRouteBuilder management) => management.MapPrometheusScrapingEndpoint("/metrics");
    }
}
