using CacheProxy.Cli;
using CacheProxy.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// cacheproxy: talks to a gateway's management endpoint (purge, warm, stats, maintenance, health, inspect) and checks a
// configuration file offline (config check). Exit codes are in ExitCodes; scripts may rely on them.
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("cacheproxy");
    config.SetApplicationVersion(CliHelp.Version); // --version
    config.SetHelpProvider(new CliHelp(config.Settings)); // the environment variables and shared options, under every help
    config.UseStrictParsing();
    config.AddBranch<ManagementSettings>("purge", branch =>
    {
        branch.SetDescription("Purge by URL, tag or prefix, on every instance and the CDNs in front (soft: mark stale); or follow the CDN forwarding.");
        branch.SetDefaultCommand<PurgeCommand>();
        branch.AddExample("purge", "--tag", "article:42", "--url", "https://www.example.com/news");
        branch.AddCommand<PurgeStatusCommand>("status").WithDescription("Where purges forwarded to CDNs stand: waiting, dead letters, or one forwarding by id.")
            .WithExample("purge", "status");
    });
    config.AddCommand<WarmCommand>("warm").WithDescription("Warm the cache from a file of URLs (one a line) or a sitemap.xml, with live progress.")
        .WithExample("warm", "urls.txt", "--management", "http://127.0.0.1:8081");
    config.AddCommand<StatsCommand>("stats").WithDescription("What the cache is doing now: rates, hit ratio, origin latency, per route.");
    config.AddCommand<MaintenanceCommand>("maintenance").WithDescription("Show maintenance mode, or turn it on or off on every instance.")
        .WithExample("maintenance", "on", "--retry-after", "120");
    config.AddCommand<HealthCommand>("health").WithDescription("The gateway's health checks; exit 0 only when healthy.");
    config.AddCommand<InspectCommand>("inspect").WithDescription("Why a URL is or is not a hit: what is stored for it, or why it was not stored.")
        .WithExample("inspect", "https://www.example.com/", "--header", "\"Accept-Encoding: br\""); // quoted: the example pastes as it reads
    config.AddCommand<SimulateCommand>("simulate").WithDescription("Replay an access log or trace offline through the memory tier's eviction policies: hit ratio by policy and size.")
        .WithExample("simulate", "access.log", "--sizes", "64MiB,256MiB,1GiB", "--svg", "hit-ratio.svg");
    config.AddBranch("config", branch =>
    {
        branch.SetDescription("Work with configuration files.");
        branch.AddCommand<ConfigCheckCommand>("check").WithDescription("Validate an appsettings file offline with the gateway's own validators.")
            .WithExample("config", "check", "appsettings.Production.json");
    });
    config.SetExceptionHandler((exception, _) => Failures.Report(exception));
});

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // let the command stop cleanly (warm cancels the job it started)
    cancellation.Cancel();
};
return await app.RunAsync(args, cancellation.Token);
