using System.Net.Http.Json;
using System.Text.Json;
using CacheProxy.Configuration;

namespace CacheProxy.Cdn;

/// <summary>
/// Cloudflare's <c>POST /zones/{zone}/purge_cache</c> (bearer token): URLs as <c>files</c>, tags as <c>tags</c>,
/// prefixes as <c>prefixes</c> (without the scheme), one kind per request, at most <see cref="CdnProviderOptions.BatchSize"/>
/// (default 100, its limit per request) each. Cloudflare has no soft purge: a soft purge is forwarded as a purge. A 429
/// is retried after its Retry-After, from the batch that was refused.
/// </summary>
internal sealed class CloudflarePurger(string name, CdnProviderOptions provider, IHttpClientFactory clients, TimeProvider time) : ICdnPurger
{
    public const string DefaultBase = "https://api.cloudflare.com/client/v4";

    public string Name => name;

    public async ValueTask<CdnPurgeResult> PurgeAsync(CdnPurge purge, CancellationToken cancellationToken)
    {
        var url = $"{CdnHttp.Base(provider.Url, DefaultBase)}/zones/{Uri.EscapeDataString(provider.ZoneId!)}/purge_cache";
        var client = CdnHttp.Client(clients);
        var batch = provider.BatchSize ?? 100;
        var prefixes = purge.Prefixes.Select(CdnHttp.WithoutScheme).ToArray();
        foreach (var (kind, values) in new[] { ("files", purge.Urls), ("tags", purge.Tags), ("prefixes", (IReadOnlyList<string>)prefixes) })
        {
            for (var done = 0; done < values.Count; done += batch)
            {
                var part = values.Skip(done).Take(batch).ToArray();
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(new Dictionary<string, string[]> { [kind] = part }) };
                request.Headers.Authorization = new("Bearer", provider.Token);
                var (failed, response) = await CdnHttp.SendAsync(client, request, $"{kind} {done + 1}-{done + part.Length}", time, cancellationToken);
                if (failed is null)
                {
                    using (response)
                    {
                        failed = await Refused(response!, kind, cancellationToken);
                    }
                }
                if (failed is { } result)
                {
                    return result.Outcome == CdnPurgeOutcome.Retry ? result with { Remaining = Rest(purge, kind, done) } : result;
                }
            }
        }
        return CdnPurgeResult.Delivered($"{purge.Urls.Count} files, {purge.Tags.Count} tags, {purge.Prefixes.Count} prefixes{(purge.Soft ? " (soft forwarded as a purge: Cloudflare has none)" : string.Empty)}");
    }

    /// <summary>What is left when the batch of <paramref name="kind"/> starting at <paramref name="done"/> was not delivered.</summary>
    private static CdnPurge Rest(CdnPurge purge, string kind, int done) => kind switch
    {
        "files" => purge with { Urls = purge.Urls.Skip(done).ToArray() },
        "tags" => purge with { Urls = [], Tags = purge.Tags.Skip(done).ToArray() },
        _ => purge with { Urls = [], Tags = [], Prefixes = purge.Prefixes.Skip(done).ToArray() },
    };

    /// <summary>A 2xx whose body says <c>"success": false</c> is a refusal: failed, with Cloudflare's messages.</summary>
    private static async Task<CdnPurgeResult?> Refused(HttpResponseMessage response, string kind, CancellationToken cancellationToken)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("success", out var success) && success.ValueKind == JsonValueKind.False)
            {
                var messages = body.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
                    ? string.Join("; ", errors.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m.ToString() : e.ToString()))
                    : "no errors given";
                return CdnPurgeResult.Failed($"{kind}: Cloudflare refused the purge: {messages}");
            }
        }
        catch (JsonException)
        {
            // a 2xx without a JSON body: taken as delivered
        }
        return null;
    }
}
