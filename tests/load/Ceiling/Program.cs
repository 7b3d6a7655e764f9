// The load test's ceiling: the least work Kestrel can do to answer with the same bytes and headers the gateway
// serves from cache. It doubles as the gateway's origin during the run.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var small = new byte[1024];
var large = new byte[100 * 1024];
Random.Shared.NextBytes(small);
Random.Shared.NextBytes(large);
// JSON the gateway stores once more in br (quality 5, its default): the ceiling serves those same br bytes.
var json = System.Text.Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Range(0, 250).Select(i => $"{{\"id\":{i},\"name\":\"item {i}\",\"price\":{i * 7 % 100}.{i % 10}9}}")) + "]");
var jsonBr = new byte[json.Length];
using (var encoder = new System.IO.Compression.BrotliEncoder(5, 22))
{
    encoder.Compress(json, jsonBr, out _, out var written, isFinalBlock: true);
    jsonBr = jsonBr[..written];
}

app.Run(context =>
{
    // /nostore/…: the same object, not to be stored (tests/load/pass.sh: the cache's cost on traffic it cannot keep).
    // /fields/…: the same object with the three fields the gateway adds to a hit — Age, Cache-Status and a fresh
    // X-Request-ID, made as the gateway makes it — the ceiling that sends the same bytes (tests/load/run.sh).
    var path = context.Request.Path;
    var noStore = path.StartsWithSegments("/nostore", out var rest);
    var sameFields = !noStore && path.StartsWithSegments("/fields", out rest);
    var body = (noStore || sameFields ? rest.Value : path.Value) switch
    {
        "/1k" => small,
        "/100k" => large,
        "/json" => json,
        "/json.br" => jsonBr,
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
    context.Response.Headers.CacheControl = noStore ? "no-store" : "public, max-age=3600";
    if (context.Request.QueryString.HasValue && context.Request.Query["tag"] is { Count: 1 } tag)
    {
        context.Response.Headers["Surrogate-Key"] = tag; // purge.sh tags what it fills
    }
    context.Response.ContentType = body == json || body == jsonBr ? "application/json" : "application/octet-stream";
    if (body == jsonBr)
    {
        context.Response.Headers.ContentEncoding = "br";
        context.Response.Headers.Vary = "Accept-Encoding";
    }
    if (sameFields)
    {
        context.Response.Headers.Age = "0";
        context.Response.Headers["Cache-Status"] = "CacheProxy; hit";
        context.Response.Headers["X-Request-ID"] = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
    }
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.Run();
