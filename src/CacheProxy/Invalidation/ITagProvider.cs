using CacheProxy.Caching;

namespace CacheProxy;

/// <summary>
/// Computes surrogate keys (tags) for a response about to be stored, from the request, its route and the response's
/// status and headers: for example the route id, or a route value such as a product id. A purge by tag removes
/// every entry stored with it. Register with
/// <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;ITagProvider, MyTags&gt;())</c>.
/// </summary>
public interface ITagProvider
{
    /// <summary>Adds tags to <see cref="CacheContext.Tags"/>; called once, when the response has been accepted for storing.</summary>
    /// <param name="context">The request's cache context; the response's status and headers are on its <c>HttpContext</c>.</param>
    void AddTags(CacheContext context);
}
