using CacheProxy;

namespace CacheProxy.Gateway.Extensibility;

/// <summary>
/// An example of <see cref="ITagProvider"/>, quoted in docs/extensibility.md and exercised by ExtensionPointTests:
/// every entry is tagged with its route (<c>route:{id}</c>) and with the values of the named route parameters
/// (<c>{name}:{value}</c>), so that a purge of <c>product:42</c> removes every page of product 42.
/// </summary>
public sealed class RouteTags(params string[] routeValues) : ITagProvider
{
    /// <inheritdoc/>
    public void AddTags(CacheContext context)
    {
        context.Tags.Add("route:" + context.RouteId);
        foreach (var name in routeValues)
        {
            if (context.HttpContext.Request.RouteValues.TryGetValue(name, out var value) && value is not null)
            {
                context.Tags.Add($"{name}:{value}");
            }
        }
    }
}
