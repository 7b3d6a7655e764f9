// YARP with ASP.NET Core's OutputCache on its one route, for tests/load/alternatives.sh: what a team that proxies
// with YARP gets from the framework's own cache. The same slim builder as the sample gateway; the route caches
// every GET for an hour (OutputCache does not read the origin's Cache-Control).
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddOutputCache(o => o.AddPolicy("proxy", b => b.Expire(TimeSpan.FromHours(1))));
var upstream = builder.Configuration["Upstream"] ?? throw new InvalidOperationException("set Upstream to the origin's URL");
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "origin", OutputCachePolicy = "proxy", Match = new RouteMatch { Path = "{**catch-all}" } }],
    [new ClusterConfig { ClusterId = "origin", Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = upstream } } }]);
var app = builder.Build();
app.UseOutputCache();
app.MapReverseProxy();
app.Run();
