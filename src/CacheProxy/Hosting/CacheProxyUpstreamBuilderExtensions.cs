using CacheProxy.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Forwarder;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's upstream HTTP client.</summary>
public static class CacheProxyUpstreamBuilderExtensions
{
    /// <summary>
    /// Replaces YARP's <see cref="IForwarderHttpClientFactory"/> with CacheProxy's, which applies
    /// <c>CacheProxy:Upstream</c> and a route's <c>ResponseHeadersTimeout</c> to every cluster's client (the connect
    /// timeout, a bound on connections per destination, a bound on the wait for response headers, and a retry of
    /// requests that could not even connect, when they are safe to send again; mutual TLS per cluster, <c>CacheProxy:Upstream:Tls</c>,
    /// with its readiness check <c>upstream-certificates</c>) — unless the app registered a factory of its own, which is
    /// left alone (whether <c>AddReverseProxy</c> came first or not). Without this call YARP's factory stays and
    /// <c>CacheProxy:Upstream</c> has no effect.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddUpstreamClient(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var existing = services.LastOrDefault(d => d.ServiceType == typeof(IForwarderHttpClientFactory));
        if (existing?.ImplementationType == typeof(ForwarderHttpClientFactory))
        {
            services.Remove(existing);
        }
        services.TryAddSingleton<IForwarderHttpClientFactory, UpstreamHttpClientFactory>();
        if (services.Any(d => d.ServiceType == typeof(UpstreamCertificates)))
        {
            return builder;
        }
        services.AddSingleton<UpstreamCertificates>();
        services.AddHealthChecks().AddCheck<CacheProxy.Health.UpstreamCertificatesHealthCheck>("upstream-certificates", tags: [CacheProxy.HealthTags.Ready]);
        return builder;
    }
}
