using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace CacheProxy.Tests.Hosting;

/// <summary>
/// <c>AddCacheProxy</c> is the cache; everything else is asked for on its builder, and nothing of the host's own
/// services changes unless a call that says so is made.
/// </summary>
public sealed class OptInFeatureTests
{
    private static WebApplication Build(Func<ICacheProxyBuilder, ICacheProxyBuilder>? features = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddReverseProxy().LoadFromMemory([], []);
        var cacheProxy = builder.Services.AddCacheProxy(o => o.Shutdown.Timeout = TimeSpan.FromMinutes(2));
        features?.Invoke(cacheProxy);
        return builder.Build();
    }

    private static string[] HealthChecks(IServiceProvider services) =>
        [.. services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void UseCacheProxy_NeedsNoConfigurationService()
    {
        // A container built by hand (a benchmark, a test host) need not register IConfiguration.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostEnvironment>(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = Environments.Production });
        services.AddCacheProxy();
        using var provider = services.BuildServiceProvider();
        var app = new ApplicationBuilder(provider);

        app.UseCacheProxy();

        Assert.Empty(provider.GetRequiredService<CacheProxy.Configuration.SettingsFiles>().Invalid);
    }

    [Fact]
    public async Task TheCacheAlone_ChangesNothingOfTheHosts()
    {
        var baseline = WebApplication.CreateSlimBuilder();
        baseline.Services.AddReverseProxy().LoadFromMemory([], []);
        await using var plain = baseline.Build();
        await using var app = Build();
        var services = app.Services;

        Assert.IsType<ForwarderHttpClientFactory>(services.GetRequiredService<IForwarderHttpClientFactory>()); // YARP's own
        Assert.Equal(plain.Services.GetService<IAuthorizationMiddlewareResultHandler>()?.GetType(), services.GetService<IAuthorizationMiddlewareResultHandler>()?.GetType());
        Assert.Equal(plain.Services.GetService<IAuthenticationSchemeProvider>() is null, services.GetService<IAuthenticationSchemeProvider>() is null);
        Assert.Equal(plain.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout,
            services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        Assert.Equal(plain.Services.GetService<IStartupValidator>()?.GetType(), services.GetService<IStartupValidator>()?.GetType());
        Assert.Empty(HealthChecks(services));
        Assert.Empty(services.GetServices<IHostedService>().OfType<CacheProxy.Memory.MemoryReturn>()); // no GC induced
        var missing = Assert.Throws<InvalidOperationException>(() => app.MapCacheProxyManagement());
        Assert.Contains(".AddManagement()", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachFeature_RegistersWhatItSays()
    {
        await using var app = Build(c => c.AddManagement().AddDashboard().AddWarming().AddGracefulDrain().AddUpstreamClient().AddMemoryReturn()
            .AddManagement().AddGracefulDrain().AddMemoryReturn()); // twice is once
        var services = app.Services;

        Assert.Single(services.GetServices<IHostedService>().OfType<CacheProxy.Memory.MemoryReturn>());
        Assert.Equal(["configuration", "draining", "maintenance", "upstream", "upstream-certificates", "warming"], HealthChecks(services));
        Assert.IsType<CacheProxy.Hosting.UpstreamHttpClientFactory>(services.GetRequiredService<IForwarderHttpClientFactory>());
        Assert.Equal(TimeSpan.FromMinutes(2) + new CacheProxy.Configuration.ShutdownOptions().DrainDelay,
            services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        Assert.NotNull(await services.GetRequiredService<IAuthenticationSchemeProvider>().GetSchemeAsync(CacheProxy.CacheProxyManagementDefaults.AuthenticationScheme));
        Assert.NotNull(await services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(CacheProxy.CacheProxyManagementDefaults.Policy));
        app.MapCacheProxyManagement();
        var paths = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(["/dashboard", "/dashboard/dashboard.css", "/dashboard/dashboard.js", "/dashboard/events", "/health", "/health/live",
            "/health/ready", "/inspect", "/maintenance", "/openapi/{documentName}.json", "/purge", "/purge/forwarding", "/purge/forwarding/{id}", "/stats", "/warm"], paths);
    }
}
