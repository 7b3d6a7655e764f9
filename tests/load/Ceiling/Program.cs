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

// ESI pages (tests/load/esi.sh): a page of 10 fragments of 200 bytes, the same page with its last fragment never
// stored (no-store), and the bytes the page assembles to as one plain object, to compare an assembled hit with a hit
// of the same size.
var esiHead = "<html><head><title>front page</title></head><body>" + new string('h', 900);
var fragments = Enumerable.Range(0, 10).Select(i => System.Text.Encoding.UTF8.GetBytes($"<p>{i}:" + new string((char)('a' + i), 192) + "</p>")).ToArray();
byte[] EsiPage(bool lastUncached) => System.Text.Encoding.UTF8.GetBytes(esiHead + string.Concat(Enumerable.Range(0, 10).Select(i =>
    $"<esi:include src=\"{(lastUncached && i == 9 ? "/esi/live" : $"/esi/frag/{i}")}\"/>\n")) + "</body></html>");
var esiPage = EsiPage(false);
var esiPageUncached = EsiPage(true);
var esiPlain = System.Text.Encoding.UTF8.GetBytes(esiHead + string.Concat(fragments.Select(f => System.Text.Encoding.UTF8.GetString(f) + "\n")) + "</body></html>");

// GraphQL (tests/load/graphql.sh): any POST to /graphql answers the same data, and /graphql-plain is those bytes as a
// plain GET object, to compare a GraphQL POST hit with a GET hit of the same size.
var graphQL = System.Text.Encoding.UTF8.GetBytes("{\"data\":{\"items\":" + System.Text.Encoding.UTF8.GetString(json) + "}}");

// Files of CEILING_FILES under /files/ (tests/load/images.sh: a source photo, then a variant's bytes as a plain object),
// each read once when first asked for.
var filesDirectory = Environment.GetEnvironmentVariable("CEILING_FILES");
var files = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]?>(StringComparer.Ordinal);
byte[]? FileFor(string path) => filesDirectory is null || !path.StartsWith("/files/", StringComparison.Ordinal) ? null
    : files.GetOrAdd(path, p => File.Exists(Path.Combine(filesDirectory, Path.GetFileName(p))) ? File.ReadAllBytes(Path.Combine(filesDirectory, Path.GetFileName(p))) : null);

// Not async itself: the ceiling's own requests pay no state machine for it.
app.Run(context => context.Request.Path == "/graphql" || context.Request.Path == "/graphql-plain" ? GraphQLAsync(context)
    : FileFor(context.Request.Path.Value ?? string.Empty) is { } file ? FileAsync(context, file) : Answer(context));
app.Run();

Task FileAsync(HttpContext context, byte[] file)
{
    var path = context.Request.Path.Value!;
    context.Response.ContentType = path.EndsWith(".jpg", StringComparison.Ordinal) ? "image/jpeg" : path.EndsWith(".webp", StringComparison.Ordinal) ? "image/webp" : "application/octet-stream";
    context.Response.Headers.CacheControl = "public, max-age=3600";
    context.Response.ContentLength = file.Length;
    return context.Response.Body.WriteAsync(file).AsTask();
}

async Task GraphQLAsync(HttpContext context)
{
    if (HttpMethods.IsPost(context.Request.Method))
    {
        await context.Request.Body.CopyToAsync(Stream.Null); // read as a GraphQL server would
    }
    context.Response.ContentType = "application/json";
    context.Response.Headers.CacheControl = "public, max-age=3600";
    context.Response.ContentLength = graphQL.Length;
    await context.Response.Body.WriteAsync(graphQL);
}

Task Answer(HttpContext context)
{
    if (context.Request.Path.StartsWithSegments("/esi", out var esiPath))
    {
        var (esiBody, cacheControl, negotiated) = esiPath.Value switch
        {
            "/page" => (esiPage, "public, max-age=3600", true),
            "/page-uncached" => (esiPageUncached, "public, max-age=3600", true),
            "/plain" => (esiPlain, "public, max-age=3600", false),
            "/live" => (fragments[9], "no-store", false),
            var f when f is not null && f.StartsWith("/frag/", StringComparison.Ordinal) && int.TryParse(f[6..], out var i) && i is >= 0 and < 10
                => (fragments[i], "public, max-age=3600", false),
            _ => (null, "", false),
        };
        if (esiBody is null)
        {
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        }
        context.Response.ContentType = "text/html";
        context.Response.Headers.CacheControl = cacheControl;
        if (negotiated)
        {
            context.Response.Headers["Surrogate-Control"] = "content=\"ESI/1.0\"";
        }
        context.Response.ContentLength = esiBody.Length;
        return context.Response.Body.WriteAsync(esiBody).AsTask();
    }
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
}
