using CacheProxy;
using CacheProxy.Experiments;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's A/B experiments.</summary>
public static class CacheProxyExperimentsBuilderExtensions
{
    /// <summary>
    /// Adds A/B experiments (docs/experiments.md): routes that list experiments of <c>CacheProxy:Experiments</c> assign
    /// each visitor a bucket, sticky through a cookie, sent upstream in a header and keyed on; and <c>cacheproxy.requests</c>
    /// gets an <c>experiment</c> tag (<c>name=bucket</c>) on every request.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddExperiments(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<ExperimentAssignments>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRequestMetricDimension, ExperimentMetricDimension>());
        return builder;
    }
}
