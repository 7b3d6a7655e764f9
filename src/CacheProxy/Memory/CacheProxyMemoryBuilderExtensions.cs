using CacheProxy.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's return of memory after a burst.</summary>
public static class CacheProxyMemoryBuilderExtensions
{
    /// <summary>
    /// Gives memory back to the OS after a burst (docs/operations/limits.md#memory): when the process has been quiet for
    /// ten seconds — no garbage collection ran — and the GC holds at least twice what it held after the last such
    /// compaction (and at least 128 MiB), one full, compacting collection runs (event 1730, <c>cacheproxy.memory.returned</c>).
    /// This induces garbage collections in the app's process, which is why it is a step of its own.
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddMemoryReturn(this ICacheProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IManagedHeap, RuntimeHeap>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, MemoryReturn>());
        return builder;
    }
}
