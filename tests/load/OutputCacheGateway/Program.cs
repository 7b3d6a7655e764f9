// YARP with ASP.NET Core's OutputCache on its one route, for tests/load/matrix.sh: what a team that proxies
// with YARP gets from the framework's own cache. The same slim builder as the sample gateway; the route caches
// every GET for an hour (OutputCache does not read the origin's Cache-Control). With Bare=true it is YARP alone, no
// cache at all: the baseline of tests/load/pass.sh for traffic a cache cannot keep.
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddOutputCache(o => o.AddPolicy("proxy", b => b.Expire(TimeSpan.FromHours(1))));
var upstream = builder.Configuration["Upstream"] ?? throw new InvalidOperationException("set Upstream to the origin's URL");
var bare = builder.Configuration.GetValue<bool>("Bare");
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "origin", OutputCachePolicy = bare ? null : "proxy", Match = new RouteMatch { Path = "{**catch-all}" } }],
    [new ClusterConfig { ClusterId = "origin", Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = upstream } } }]);
var app = builder.Build();
if (!bare)
{
    app.UseOutputCache();
}
app.MapReverseProxy();
app.Run();
