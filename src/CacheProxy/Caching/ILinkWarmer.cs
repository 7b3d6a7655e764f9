using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Caching;

/// <summary>
/// Told of each response the cache stored, with its request: warms the URLs its <c>Link</c> fields preload or prefetch
/// when the route asks for it (<c>Warming.LinkWarming</c>, with <c>AddWarming()</c>). Must return at once.
/// </summary>
internal interface ILinkWarmer
{
    void Stored(string routeId, HttpRequest request, IReadOnlyList<KeyValuePair<string, StringValues>> headers);
}
