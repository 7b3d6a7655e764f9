using CacheProxy.Diagnostics;
using CacheProxy.Hosting;
using CacheProxy.Http;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Caching;

/// <summary>
/// Stored responses are compressed when they are asked for again, not when they are fetched: a miss stores the
/// identity body under each Accept-Encoding class's key (<see cref="ResponseStorer"/>), and the first hit in br or
/// gzip on an entry that is still identity compresses it for that class, in the background, and stores it in its
/// place. So a client forcing misses (a random query string) costs what a miss without compression costs, and what
/// clients come back for is served compressed from its second request on. At most half the cores compress at once;
/// a hit that finds them busy leaves the entry to a later one.
/// </summary>
internal sealed class DeferredCompression(Compressor compressor, CacheWriter writer, ICacheStore store, CacheKey keys, BackgroundWork background,
    CacheProxyMetrics metrics)
{
    private readonly SemaphoreSlim _running = new(Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>After a hit from the memory tier: compresses its entry for the request's class when it is one to compress and still identity.</summary>
    public void OnHit(CacheContext context)
    {
        if (context.Lookup.Entry is not { CompressionChecked: false } stored)
        {
            return;
        }
        stored.CompressionChecked = true; // once per stored entry (each class's key has its own)
        if ((context.Key ?? keys.Build(context.HttpContext)) is not { } key) // the fast path writes no key string
        {
            return;
        }
        var entry = stored.Entry;
        var request = context.HttpContext.Request;
        var coding = AcceptEncoding.Class(request.Headers.AcceptEncoding);
        if (coding == AcceptEncoding.Identity || !compressor.Applies(context.RouteId, entry) || !VaryNamesAcceptEncoding(key, out var varyNames))
        {
            return;
        }
        if (!_running.Wait(0))
        {
            stored.CompressionChecked = false; // busy: a later hit tries again
            return;
        }
        Start(key, entry, coding, compressor.For(context.RouteId), Copy(request, varyNames), varyNames);
    }

    // Apart from OnHit: a lambda there would make every hit allocate its closure, taken or not.
    private void Start(string key, CacheEntry entry, string coding, Compressor.Settings settings, HttpRequest varied, IReadOnlyList<string> varyNames)
    {
        if (!background.TryStart("compress", async _ =>
            {
                try
                {
                    if (Compressor.Encode(entry, coding, settings) is { } representation
                        && await writer.StoreAsync(key, varied, representation, varyNames, coding))
                    {
                        metrics.CompressionSaved.Add(entry.Body.Length - representation.Body.Length, new KeyValuePair<string, object?>("coding", coding));
                    }
                }
                finally
                {
                    _running.Release();
                }
            }))
        {
            _running.Release();
        }
    }

    /// <summary>The URL's Vary names when its rule (in the memory tier) names Accept-Encoding.</summary>
    private bool VaryNamesAcceptEncoding(string key, out IReadOnlyList<string> names)
    {
        names = [];
        if (store is IStoredEntries stored && stored.TryGetStored(key, out var rule) && VaryRule.Read(rule) is { } read
            && AcceptEncodingKeying.IsKeyedOn(read.Names))
        {
            names = read.Names;
            return true;
        }
        return false;
    }

    /// <summary>A request with the hit's values of the Vary'd fields: what the variant's key is made of.</summary>
    private static HttpRequest Copy(HttpRequest request, IReadOnlyList<string> names)
    {
        var copy = new DefaultHttpContext().Request;
        foreach (var name in names)
        {
            copy.Headers[name] = request.Headers[name];
        }
        return copy;
    }
}
