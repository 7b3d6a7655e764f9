using CacheProxy.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CacheProxy.Health;

/// <summary>
/// Maintenance mode, for operators to see: Healthy either way (the instance serves what it has stored and should stay in
/// rotation), with the state in <c>data</c>.
/// </summary>
internal sealed class MaintenanceHealthCheck(Management.Maintenance maintenance) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = maintenance.Current;
        var data = new Dictionary<string, object> { ["enabled"] = state.Enabled };
        if (state.Enabled)
        {
            data["source"] = state.Source;
            data["retryAfter"] = (int)state.RetryAfter.TotalSeconds;
            data["allow"] = string.Join(", ", state.AllowedNetworks);
        }
        return Task.FromResult(HealthCheckResult.Healthy(state.Enabled
            ? "Maintenance mode is on: stored responses are served, other requests get 503."
            : "Maintenance mode is off.", data));
    }
}

/// <summary>
/// Configuration loaded: the CacheProxy options in effect passed validation (a rejected reload keeps them), and the
/// proxy has routes to serve. Degraded while <c>CacheProxy:Routes</c> names a route YARP does not have (after a reload:
/// at startup that stops the process), and while a settings file cannot be reloaded (<see cref="SettingsFiles"/>).
/// </summary>
internal sealed class ConfigurationHealthCheck(LastGoodOptions options, IServiceProvider services, IProxyStateLookup? proxy = null,
    SettingsFiles? files = null) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["rejectedReloads"] = options.RejectedReloads };
        var invalid = files?.Invalid ?? new Dictionary<string, string>();
        foreach (var (file, reason) in invalid)
        {
            data[$"invalidFile:{file}"] = reason;
        }
        var routes = proxy?.GetRoutes().Count() ?? 0;
        data["routes"] = routes;
        var unknown = ProxyRoutes.Unknown(services, options.Current).ToList();
        if (unknown.Count > 0)
        {
            data["unknownRoutes"] = string.Join(", ", unknown);
        }
        return Task.FromResult(proxy is not null && routes == 0 ? HealthCheckResult.Unhealthy("The proxy has no routes.", data: data)
            : unknown.Count > 0 ? HealthCheckResult.Degraded("CacheProxy:Routes names routes YARP does not have; their settings apply to nothing.", data: data)
            : invalid.Count > 0 ? HealthCheckResult.Degraded("A settings file could not be reloaded; its last good content stays in effect.", data: data)
            : HealthCheckResult.Healthy("Configuration loaded.", data));
    }
}

/// <summary>
/// Whether the upstream clusters have a destination that YARP's active and passive health checks have not marked
/// unhealthy. None anywhere: Unhealthy (or Degraded with <see cref="HealthOptions.RequireHealthyUpstream"/> off);
/// some clusters without one: Degraded. Destinations whose health is unknown (no health checks) count as available.
/// The data names each destination's active and passive state.
/// </summary>
internal sealed class UpstreamHealthCheck(LastGoodOptions options, IProxyStateLookup? proxy = null) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (proxy is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No YARP proxy in this app."));
        }
        var data = new Dictionary<string, object>();
        var (clusters, down) = (0, 0);
        foreach (var cluster in proxy.GetClusters())
        {
            clusters++;
            var all = cluster.DestinationsState.AllDestinations;
            var healthy = all.Count(d => d.Health.Active != DestinationHealth.Unhealthy && d.Health.Passive != DestinationHealth.Unhealthy);
            data[cluster.ClusterId] = $"{healthy}/{all.Count} destinations available";
            foreach (var destination in all)
            {
                // What YARP's health checks last said of each, so an operator sees which probe failed (Unknown: not yet probed).
                data[$"{cluster.ClusterId}/{destination.DestinationId}"] = $"active {destination.Health.Active}, passive {destination.Health.Passive}";
            }
            if (healthy == 0)
            {
                down++;
            }
        }
        HealthCheckResult result = clusters == 0 ? HealthCheckResult.Unhealthy("No upstream cluster is configured.", data: data)
            : down == 0 ? HealthCheckResult.Healthy("Every upstream cluster has an available destination.", data)
            : down < clusters ? HealthCheckResult.Degraded($"{down} of {clusters} upstream clusters have no available destination.", data: data)
            : options.Current.Health.RequireHealthyUpstream ? HealthCheckResult.Unhealthy("No upstream cluster has an available destination.", data: data)
            : HealthCheckResult.Degraded("No upstream cluster has an available destination; stored responses are still served.", data: data);
        return Task.FromResult(result);
    }
}

/// <summary>
/// Readiness: Degraded while a cluster's upstream client certificate expires within its <c>ExpiryWarning</c>, or has
/// expired (cached responses are still served; fetches from that cluster will fail its TLS handshake). Never
/// Unhealthy: an expiring certificate is a warning to act on, not a reason to take every instance out of rotation.
/// </summary>
internal sealed class UpstreamCertificatesHealthCheck(Hosting.UpstreamCertificates certificates, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var data = new Dictionary<string, object>();
        var expiring = new List<string>();
        foreach (var (cluster, certificate, warning) in certificates.Clients())
        {
            var notAfter = certificate.NotAfter.ToUniversalTime();
            data[cluster] = $"{certificate.Subject}, expires {notAfter:O}";
            if (notAfter - now <= warning)
            {
                expiring.Add(notAfter <= now ? $"{cluster} (expired {notAfter:O})" : $"{cluster} (expires {notAfter:O})");
            }
        }
        return Task.FromResult(data.Count == 0 ? HealthCheckResult.Healthy("No upstream client certificate is configured.")
            : expiring.Count == 0 ? HealthCheckResult.Healthy("Every upstream client certificate is valid beyond its ExpiryWarning.", data)
            : HealthCheckResult.Degraded($"Upstream client certificates to renew: {string.Join(", ", expiring)}.", data: data));
    }
}
