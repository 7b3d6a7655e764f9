// The load test's ceiling: the least work Kestrel can do to answer with the same bytes and headers the gateway
// serves from cache. It doubles as the gateway's origin during the run.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var small = new byte[1024];
var large = new byte[100 * 1024];
Random.Shared.NextBytes(small);
Random.Shared.NextBytes(large);

app.Run(context =>
{
    var body = context.Request.Path.Value switch
    {
        "/1k" => small,
        "/100k" => large,
        _ => null,
    };
    if (context.Request.Path == "/")
    {
        return context.Response.WriteAsync("ok"); // the gateway's active health check
    }
    if (body is null)
    {
        context.Response.StatusCode = 404;
        return Task.CompletedTask;
    }
    context.Response.Headers.CacheControl = "public, max-age=3600";
    if (context.Request.QueryString.HasValue && context.Request.Query["tag"] is { Count: 1 } tag)
    {
        context.Response.Headers["Surrogate-Key"] = tag; // purge.sh tags what it fills
    }
    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.Run();
