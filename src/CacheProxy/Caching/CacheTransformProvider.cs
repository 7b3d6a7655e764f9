using CacheProxy.Configuration;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace CacheProxy.Caching;

/// <summary>
/// Proxy duties the cache depends on, applied as YARP transforms on every route:
/// <list type="bullet">
/// <item>RFC 9110 §7.6.1: remove the fields an upstream lists in Connection. YARP drops Connection itself, so by
/// the time the cache sees the response the list is gone; applied here while it is still known, such fields are
/// neither forwarded nor stored.</item>
/// <item>The request's correlation id replaces any the upstream sent back under the same name.</item>
/// <item>RFC 9112 §4: a reason phrase is text for people; one with control characters (a terminal escape, a NUL)
/// is replaced by the status code's standard phrase instead of being passed on.</item>
/// <item>The route's upstream response-headers timeout travels with the request to <c>UpstreamHttpClientFactory</c>.</item>
/// <item>Edge Architecture 1.0: announce this cache in Surrogate-Capability so origins can target
/// Surrogate-Control directives at it — with ESI/1.0 on a route that processes ESI, whose requests then go upstream
/// without Accept-Encoding (docs/esi.md).</item>
/// <item>Request fields with an underscore in their name are not forwarded (<see cref="CacheProxyOptions.DropUnderscoreHeaders"/>),
/// nor the unkeyed fields a route removes (<see cref="UnkeyedFields.RemoveOnForward"/>): here, where a request
/// goes upstream, so that a hit never looks for them.</item>
/// </list>
/// </summary>
internal sealed class CacheTransformProvider(LastGoodOptions options, UnkeyedFields unkeyed) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var routeId = context.Route.RouteId;
        context.AddRequestTransform(transform =>
        {
            var current = options.Current;
            transform.ProxyRequest.Options.Set(Hosting.UpstreamHttpClientFactory.ResponseHeadersTimeout,
                current.Routes.TryGetValue(routeId, out var route) && route.ResponseHeadersTimeout is { } timeout ? timeout : current.Upstream.ResponseHeadersTimeout);
            if (current.HonorSurrogateControl)
            {
                var esiRoute = Esi.EsiAssembler.Enabled(current, routeId);
                transform.ProxyRequest.Headers.TryAddWithoutValidation("Surrogate-Capability",
                    esiRoute ? $"{current.CacheStatusName}=\"Surrogate/1.0 ESI/1.0\"" : $"{current.CacheStatusName}=\"Surrogate/1.0\"");
                if (esiRoute)
                {
                    // A page is parsed as it comes: asked for uncoded (the cache's own compression, stored once, serves the rest).
                    transform.ProxyRequest.Headers.Remove("Accept-Encoding");
                }
            }
            if (current.Routes.TryGetValue(routeId, out var graphQLRoute) && graphQLRoute.GraphQL.Enabled)
            {
                // A GraphQL response's body is read before it is stored (docs/graphql.md): asked for uncoded.
                transform.ProxyRequest.Headers.Remove("Accept-Encoding");
            }
            unkeyed.RemoveOnForward(transform, routeId);
            return default;
        });
        context.AddResponseTransform(transform =>
        {
            if (transform.ProxyResponse is { } upstream)
            {
                foreach (var name in upstream.Headers.Connection)
                {
                    transform.HttpContext.Response.Headers.Remove(name);
                }
            }
            var response = transform.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>();
            if (response?.ReasonPhrase is { } reason && reason.Any(char.IsControl))
            {
                response.ReasonPhrase = null; // Kestrel sends the standard phrase
            }
            // The request's own correlation id wins over whatever the upstream put under that name.
            if (transform.HttpContext.Features.Get<CacheProxy.ICorrelationIdFeature>() is { } correlation)
            {
                transform.HttpContext.Response.Headers[options.Current.Correlation.HeaderName] = correlation.CorrelationId;
            }
            return default;
        });
    }
}
