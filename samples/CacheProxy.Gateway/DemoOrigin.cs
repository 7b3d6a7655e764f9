using System.Globalization;

namespace CacheProxy.Gateway;

/// <summary>A tiny origin for development: cacheable, uncacheable and validating responses on 127.0.0.1.</summary>
public sealed class DemoOrigin
{
    private readonly WebApplication _app;
    private int _requests;

    private DemoOrigin(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Gets the origin's base address.</summary>
    public string Address { get; }

    /// <summary>Gets how many requests for <c>/demo/…</c> the origin has answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public static async Task<DemoOrigin> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // Its own settings only: the gateway's appsettings.json (Kestrel endpoints above all) is not for it.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        DemoOrigin? origin = null;
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/demo"))
            {
                Interlocked.Increment(ref origin!._requests); // the requests the README's comments count, not health probes
            }
            return next(context);
        });
        // The gateway's active health check probes "/" (appsettings.json): answered, so the demo instance is ready.
        app.MapGet("/", () => "CacheProxy demo origin: /demo/hello, /demo/items, /demo/etag, /demo/time, /demo/private, /demo/page, /demo/graphql, /demo/experiment, /demo/images/photo.jpg\n");
        app.MapGet("/demo/hello", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "public, max-age=60";
            return $"hello from the demo origin, request {origin!.Requests}\n";
        });
        app.MapGet("/demo/private", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "private, max-age=60";
            return "not stored by a shared cache\n";
        });
        app.MapGet("/demo/etag", (HttpContext c) =>
        {
            const string etag = "\"v1\"";
            c.Response.Headers.CacheControl = "max-age=0, must-revalidate";
            c.Response.Headers.ETag = etag;
            if (c.Request.Headers.IfNoneMatch == etag)
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
            return Results.Text("validated on every request\n");
        });
        app.MapGet("/demo/items", (HttpContext c) =>
        {
            // A few KiB of JSON: stored once more in br and gzip (docs/caching.md#compression-stored-once).
            c.Response.Headers.CacheControl = "public, max-age=60";
            return Results.Json(Enumerable.Range(1, 100).Select(i => new { id = i, name = $"item {i}", inStock = i % 3 != 0 }));
        });
        app.MapGet("/demo/time", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "max-age=5, stale-while-revalidate=30";
            return TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) + "\n";
        });
        // A page assembled by the gateway from fragments cached on their own (Edge Side Includes, docs/esi.md): the page
        // for an hour, the price for ten seconds. It negotiates ESI with Surrogate-Control; CacheProxy:Esi:Enabled turns it on.
        app.MapGet("/demo/page", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "public, max-age=3600";
            c.Response.Headers["Surrogate-Control"] = "content=\"ESI/1.0\"";
            return Results.Content("<html><body><h1>Product</h1>\n<p>Price: <esi:include src=\"/demo/fragments/price\"/></p>\n"
                + "<esi:remove><p>(this text shows where ESI is not processed)</p></esi:remove>\n"
                + "<esi:choose><esi:when test=\"$(QUERY_STRING{lang}) == 'de'\"><p>Hallo!</p></esi:when><esi:otherwise><p>Hello!</p></esi:otherwise></esi:choose>\n"
                + "</body></html>\n", "text/html; charset=utf-8");
        });
        app.MapGet("/demo/fragments/price", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "public, max-age=10";
            return Results.Content(string.Create(CultureInfo.InvariantCulture, $"{9.99 + (origin!.Requests % 10):0.00} EUR"), "text/html; charset=utf-8");
        });
        // A GraphQL endpoint (docs/graphql.md), as small as can be: product(id) and setPrice(id, price), over GET and POST.
        var prices = new System.Collections.Concurrent.ConcurrentDictionary<string, decimal>(StringComparer.Ordinal) { ["1"] = 9.99m, ["2"] = 19.99m };
        app.MapMethods("/demo/graphql", ["GET", "POST"], async (HttpContext c) =>
        {
            var request = HttpMethods.IsPost(c.Request.Method)
                ? await System.Text.Json.JsonSerializer.DeserializeAsync<DemoGraphQLRequest>(c.Request.Body, JsonOptions)
                : new DemoGraphQLRequest(c.Request.Query["query"], c.Request.Query["variables"] is { Count: > 0 } v
                    ? System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(v.ToString()) : null);
            if (request?.Query is null)
            {
                return Results.Json(new { errors = new[] { new { message = "no query" } } }, statusCode: StatusCodes.Status400BadRequest);
            }
            var id = request.Variables?.TryGetValue("id", out var given) == true ? given.ToString() : "1";
            var mutation = GraphQLParser.Parser.Parse(request.Query).Definitions.OfType<GraphQLParser.AST.GraphQLOperationDefinition>()
                .Any(o => o.Operation == GraphQLParser.AST.OperationType.Mutation);
            if (mutation && request.Variables?.TryGetValue("price", out var price) == true)
            {
                prices[id] = price.GetDecimal();
            }
            if (!mutation)
            {
                c.Response.Headers.CacheControl = "public, max-age=60";
            }
            var product = prices.TryGetValue(id, out var amount) ? new { __typename = "Product", id, name = $"product {id}", price = amount } : null;
            return Results.Json(mutation ? new { data = new { setPrice = product } } as object : new { data = new { product } });
        });
        // A photo for the image route (docs/images.md): a 1600 x 1000 JPEG made once here, AVIF or WebP and resized at the gateway.
        var photo = new Lazy<byte[]>(() =>
        {
            using var x = NetVips.Image.Xyz(1600, 1000);
            using var red = (x[0] * (255.0 / 1600)).Cast(NetVips.Enums.BandFormat.Uchar);
            using var green = (x[1] * (255.0 / 1000)).Cast(NetVips.Enums.BandFormat.Uchar);
            using var noise = NetVips.Image.Gaussnoise(1600, 1000, mean: 128, sigma: 30).Cast(NetVips.Enums.BandFormat.Uchar);
            using var rgb = red.Bandjoin(green, noise);
            return rgb.JpegsaveBuffer(q: 88);
        });
        app.MapGet("/demo/images/photo.jpg", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Bytes(photo.Value, "image/jpeg");
        });
        // A page for the checkout experiment (docs/experiments.md): the gateway tells the origin the visitor's bucket.
        app.MapGet("/demo/experiment", (HttpContext c) =>
        {
            c.Response.Headers.CacheControl = "public, max-age=60";
            return $"checkout page, variant {c.Request.Headers["CacheProxy-Experiment-checkout"]}, made at request {origin!.Requests}\n";
        });
        await app.StartAsync();
        var address = app.Urls.First().TrimEnd('/') + "/";
        origin = new DemoOrigin(app, address);
        return origin;
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);

    public Task StopAsync() => _app.StopAsync();

    private sealed record DemoGraphQLRequest(string? Query, Dictionary<string, System.Text.Json.JsonElement>? Variables);
}
