namespace CacheProxy;

/// <summary>
/// Changes what identifies a cached response, for every request of a cached route and for the URLs an unsafe
/// request invalidates: for example ignore tracking parameters (<c>utm_*</c>) or add a request header's value.
/// Register with <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;ICacheKeyCustomizer, MyKeys&gt;())</c>;
/// they run in registration order.
/// </summary>
/// <remarks>
/// Synchronous on purpose: it runs on every cache hit (docs/extensibility.md). Registering one costs each hit the
/// key string it builds (without one, a hit looks its key up without allocating).
/// </remarks>
public interface ICacheKeyCustomizer
{
    /// <summary>Changes the key's parts in <paramref name="context"/>.</summary>
    /// <param name="context">The parts of the key being built.</param>
    void Customize(CacheKeyContext context);
}
