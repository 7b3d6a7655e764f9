using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Invalidation;

/// <summary>
/// The tags a response is stored with: the upstream's <c>Surrogate-Key</c> (space-separated) and <c>Cache-Tag</c>
/// (comma-separated) fields — read, then removed before the client sees them unless configured otherwise — and what
/// every registered <see cref="ITagProvider"/> adds; bounded in count and length (<see cref="TagOptions"/>), the rest
/// dropped with a log event, never a failure.
/// </summary>
internal sealed class ResponseTags(LastGoodOptions options, IEnumerable<ITagProvider> providers, ILoggerFactory loggers)
{
    private readonly ITagProvider[] _providers = [.. providers];
    private readonly ILogger _logger = loggers.CreateLogger(LogCategories.Cache);

    /// <summary>Takes the tag fields off the upstream response: into <paramref name="context"/>'s tags when it is to be stored.</summary>
    public void TakeHeaders(CacheContext context, IHeaderDictionary headers, bool storing)
    {
        var tags = options.Current.Tags;
        Take(context, headers, tags.SurrogateKeyHeader, ' ', storing, tags.RemoveTagHeaders);
        Take(context, headers, tags.CacheTagHeader, ',', storing, tags.RemoveTagHeaders);
    }

    /// <summary>Runs the tag providers, then applies the bounds; what the entry is stored with.</summary>
    public IReadOnlyList<string> Complete(CacheContext context)
    {
        foreach (var provider in _providers)
        {
            provider.AddTags(context);
        }
        if (!context.HasTags)
        {
            return [];
        }
        var bounds = options.Current.Tags;
        var kept = new List<string>(Math.Min(context.Tags.Count, bounds.MaxTagsPerResponse));
        var dropped = 0;
        foreach (var tag in context.Tags)
        {
            if (tag.Length == 0 || tag.Length > bounds.MaxTagLength || CacheKey.HasControl(tag) || kept.Count == bounds.MaxTagsPerResponse)
            {
                dropped++;
                continue;
            }
            kept.Add(tag);
        }
        if (dropped > 0)
        {
            Log.TagsDropped(_logger, dropped, context.RouteId, bounds.MaxTagsPerResponse, bounds.MaxTagLength);
        }
        return kept;
    }

    /// <summary>The tags the upstream's tag fields name (not bounded: for passing on, not for storing).</summary>
    public static List<string> Read(IHeaderDictionary headers, TagOptions options)
    {
        var tags = new List<string>();
        foreach (var (name, separator) in new[] { (options.SurrogateKeyHeader, ' '), (options.CacheTagHeader, ',') })
        {
            if (!string.IsNullOrEmpty(name) && headers.TryGetValue(name, out var values))
            {
                Split(values, separator, tags);
            }
        }
        tags.RemoveAll(CacheKey.HasControl);
        return tags;
    }

    private static void Take(CacheContext context, IHeaderDictionary headers, string name, char separator, bool storing, bool remove)
    {
        if (string.IsNullOrEmpty(name) || !headers.TryGetValue(name, out var values))
        {
            return;
        }
        if (storing)
        {
            Split(values, separator, context.Tags);
        }
        if (remove)
        {
            headers.Remove(name);
        }
    }

    /// <summary>Adds the non-empty, trimmed items of a tag field's lines to <paramref name="tags"/>.</summary>
    private static void Split(StringValues values, char separator, ICollection<string> tags)
    {
        foreach (var line in values)
        {
            foreach (var range in (line ?? string.Empty).AsSpan().Split(separator))
            {
                var tag = (line ?? string.Empty).AsSpan()[range].Trim(" \t");
                if (!tag.IsEmpty)
                {
                    tags.Add(tag.ToString());
                }
            }
        }
    }
}
