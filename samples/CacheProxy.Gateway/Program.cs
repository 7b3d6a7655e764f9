using CacheProxy.Gateway;
using Microsoft.Extensions.Options;

// appsettings*.json sit beside the binary: find them wherever the gateway is started from. The slim builder
// leaves out what a gateway does not use (host filtering, IIS, EventLog/Debug loggers, regex route constraints)
// and costs measurably less CPU per cache hit (docs/performance.md); HTTPS endpoints from configuration stay.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Settings files mounted at run time (a ConfigMap, a Secret): CACHEPROXY_SETTINGS_DIR, default /etc/cacheproxy.
if (GatewayConfiguration.AddSettingsDirectory(builder.Configuration) is { } unreadable)
{
    await Console.Error.WriteLineAsync(unreadable);
    return 1;
}
if (args is ["probe", ..])
{
    return await HealthProbe.RunAsync(builder.Configuration, args); // a container health check: exit 0 when healthy
}
builder.WebHost.UseKestrelHttpsConfiguration();
// Kestrel:Limits (request body size, header sizes, connection counts) from configuration, as operators expect.
builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
if (!builder.Environment.IsDevelopment())
{
    // JSON lines with scopes (correlation id) for log shippers: the framework's formatter, options from
    // Logging:Console:FormatterOptions. Set here because the slim builder picks the simple formatter in code.
    // Escaped only as JSON needs: a person reading a log line sees ' and + (not \u0027, \u002B); lines are not HTML.
    builder.Logging.AddJsonConsole(o => o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

// Development with no upstream configured: start a small origin in this process so `dotnet run` shows caching.
DemoOrigin? demo = null;
if (builder.Environment.IsDevelopment() && string.IsNullOrWhiteSpace(builder.Configuration[GatewayConfiguration.UpstreamKey]))
{
    demo = await DemoOrigin.StartAsync();
    builder.Configuration.AddInMemoryCollection([new(GatewayConfiguration.UpstreamKey, demo.Address)]);
}
// Checked with every other setting at startup: all errors are reported together (event 1300) before anything listens.
builder.Services.AddOptions<UpstreamOptions>().Bind(builder.Configuration.GetSection("ReverseProxy:Clusters:origin:Destinations:primary")).ValidateOnStart();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<UpstreamOptions>, UpstreamValidator>();

builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
var cacheProxy = builder.Services.AddCacheProxy(builder.Configuration.GetSection("CacheProxy"))
    .AddUpstreamClient() // CacheProxy:Upstream (connect timeout, limits, retry): replaces YARP's client factory
    .AddManagement()     // /health, /purge, /maintenance, /inspect on the management port, behind its API keys
    .AddDashboard()      // /stats and the live /dashboard
    .AddWarming()        // /warm, and CacheProxy:Warm at startup
    .AddGracefulDrain()  // on SIGTERM: not ready, keep serving for the drain delay, then stop (raises the host's shutdown timeout)
    .AddMemoryReturn()   // after a burst, once quiet: one compacting GC gives the memory back (induces GCs in this process)
    .AddPrometheus();    // /metrics
if (builder.Configuration.GetSection("CacheProxy:Experiments").Exists())
{
    // A/B buckets routes assign, key on and count (docs/experiments.md); only then does every request's metric key carry the experiment tag.
    cacheProxy.AddExperiments();
}
if (builder.Configuration.GetSection("CacheProxy:Routes").GetChildren().Any(r => r.GetValue<bool>("Images:Enabled")))
{
    cacheProxy.AddImages(); // AVIF/WebP and resized variants made once with libvips (docs/images.md); only for a configuration that has image routes
}
if (builder.Configuration.GetSection("CacheProxy:Redis").Exists())
{
    cacheProxy.AddRedis(); // the shared tier (a section without a connection string is an error); without it, the memory tier alone
}
if (demo is not null)
{
    builder.Services.AddSingleton(demo);
}

// AddReverseProxy (and AddManagement, through AddAuthentication) add Data Protection, which only session-affinity
// cookies use here; its hosted service loads — or creates and writes — a key ring at startup. Without that service the
// key ring is made on first use, if ever: 9 MiB less resident at idle (XML, OpenSSL), docs/operations/limits.md#memory.
foreach (var keyRingAtStartup in builder.Services.Where(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)
    && d.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList())
{
    builder.Services.Remove(keyRingAtStartup);
}
var app = builder.Build();
// ASP.NET Core adds the authentication middleware by itself when a scheme is registered. Here the only one is the
// management plane's, and its endpoints name that scheme in their policy, so the authorization middleware
// authenticates them itself. Left in, the middleware would open a request service scope for every proxied request and
// find no scheme to run. That costs about half a kilobyte and 4 % of a forwarded request's throughput
// (docs/performance.md#uncacheable-traffic). Marking it as added, as UseAuthentication() itself does, leaves it out.
// Add app.UseAuthentication() if you add endpoints of your own that sign users in.
((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
// A startup that cannot go on is the operator's to fix, not a crash: one report, a documented exit code
// (docs/configuration.md#startup-errors), no stack trace. The app is disposed on the way out so the logs flush.
await using (app)
{
    try
    {
        app.UseCacheProxy(); // runs the startup validation first: every configuration error together, as event 1300
        app.MapReverseProxy();
        app.MapCacheProxyManagement();
        if (demo is not null)
        {
            app.Lifetime.ApplicationStopped.Register(() => demo.StopAsync().GetAwaiter().GetResult()); // after the drain
        }
        await app.StartAsync();
        if (demo is not null)
        {
            app.Logger.LogInformation("Demo origin at {Address}; try: curl -i {PublicUrl}/demo/hello twice", demo.Address,
                builder.Configuration["Kestrel:Endpoints:Public:Url"]?.TrimEnd('/') ?? "http://<public endpoint>");
        }
    }
    catch (OptionsValidationException)
    {
        return StartupExit.InvalidConfiguration; // every error is in event 1300, logged by the startup validation
    }
    catch (IOException e) when (StartupExit.EndpointThatCannotListen(builder.Configuration, e) is var (name, url))
    {
        GatewayLog.EndpointCannotListen(app.Logger, name, url, e.InnerException?.Message ?? e.Message);
        return StartupExit.EndpointCannotListen;
    }
    await app.WaitForShutdownAsync();
}
return 0;

/// <summary>The gateway's entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
