using CacheProxy.Configuration;

namespace CacheProxy.Cdn;

/// <summary>
/// Fastly's purge API (<c>Fastly-Key</c> authentication): surrogate keys in batches
/// (<c>POST /service/{id}/purge</c> with a <c>Surrogate-Key</c> header, at most 256 keys), URLs one by one
/// (<c>POST /purge/{host}/{path}</c>, a query's <c>?</c> escaped), soft with <c>Fastly-Soft-Purge: 1</c>. Fastly has no purge by prefix: a
/// purge that names prefixes has its URLs and tags delivered, then fails with the reason (docs/cdn.md).
/// </summary>
internal sealed class FastlyPurger(string name, CdnProviderOptions provider, IHttpClientFactory clients, TimeProvider time) : ICdnPurger
{
    public const string DefaultBase = "https://api.fastly.com";

    public string Name => name;

    public async ValueTask<CdnPurgeResult> PurgeAsync(CdnPurge purge, CancellationToken cancellationToken)
    {
        var api = CdnHttp.Base(provider.Url, DefaultBase);
        var client = CdnHttp.Client(clients);
        if (purge.Tags.FirstOrDefault(t => t.Any(char.IsWhiteSpace)) is { } spaced)
        {
            return CdnPurgeResult.Failed($"Fastly surrogate keys hold no whitespace: '{spaced}' cannot be purged there");
        }
        var batch = provider.BatchSize ?? 256;
        var tagsDone = 0;
        foreach (var keys in purge.Tags.Chunk(batch))
        {
            using var request = Request($"{api}/service/{Uri.EscapeDataString(provider.ServiceId!)}/purge", purge.Soft);
            request.Headers.TryAddWithoutValidation("Surrogate-Key", string.Join(' ', keys));
            var (failed, response) = await CdnHttp.SendAsync(client, request, $"surrogate keys {tagsDone + 1}-{tagsDone + keys.Length}", time, cancellationToken);
            response?.Dispose();
            if (failed is { } result)
            {
                return Partial(result, purge with { Tags = purge.Tags.Skip(tagsDone).ToArray() });
            }
            tagsDone += keys.Length;
        }
        for (var i = 0; i < purge.Urls.Count; i++)
        {
            using var request = Request($"{api}/purge/{CdnHttp.WithoutScheme(purge.Urls[i]).Replace("?", "%3F", StringComparison.Ordinal)}", purge.Soft);
            var (failed, response) = await CdnHttp.SendAsync(client, request, $"URL {i + 1} of {purge.Urls.Count}", time, cancellationToken);
            response?.Dispose();
            if (failed is { } result)
            {
                return Partial(result, purge with { Tags = [], Urls = purge.Urls.Skip(i).ToArray() });
            }
        }
        if (purge.Prefixes.Count > 0)
        {
            return CdnPurgeResult.Failed($"{purge.Urls.Count} URLs and {purge.Tags.Count} keys delivered; Fastly has no purge by prefix, so {purge.Prefixes.Count} "
                + "prefixes were not (tag those responses with a surrogate key and purge the key)");
        }
        return CdnPurgeResult.Delivered($"{purge.Tags.Count} keys, {purge.Urls.Count} URLs{(purge.Soft ? ", soft" : string.Empty)}");
    }

    private HttpRequestMessage Request(string url, bool soft)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.TryAddWithoutValidation("Fastly-Key", provider.Token);
        request.Headers.Accept.ParseAdd("application/json");
        if (soft)
        {
            request.Headers.TryAddWithoutValidation("Fastly-Soft-Purge", "1");
        }
        return request;
    }

    private static CdnPurgeResult Partial(CdnPurgeResult result, CdnPurge remaining) =>
        result.Outcome == CdnPurgeOutcome.Retry ? result with { Remaining = remaining } : result;
}
