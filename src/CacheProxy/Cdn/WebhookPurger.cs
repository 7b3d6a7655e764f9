using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CacheProxy.Configuration;

namespace CacheProxy.Cdn;

/// <summary>
/// A POST of the purge as JSON to a URL, for every CDN or system without a built-in (docs/cdn.md):
/// <c>{"id", "created", "urls", "tags", "prefixes", "soft"}</c>, with <c>CacheProxy-Purge-Id</c> (the same on every
/// attempt: an idempotency key), <c>Authorization: Bearer {Token}</c> when a token is set, and when a secret is set
/// <c>CacheProxy-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}" with the secret}</c>. Any 2xx is delivered.
/// </summary>
internal sealed class WebhookPurger(string name, CdnProviderOptions provider, IHttpClientFactory clients, TimeProvider time) : ICdnPurger
{
    public const string SignatureHeader = "CacheProxy-Signature";
    public const string IdHeader = "CacheProxy-Purge-Id";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => name;

    public async ValueTask<CdnPurgeResult> PurgeAsync(CdnPurge purge, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Body(purge.Id, purge.Created, purge.Urls, purge.Tags, purge.Prefixes, purge.Soft), Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, provider.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation(IdHeader, purge.Id);
        if (!string.IsNullOrEmpty(provider.Token))
        {
            request.Headers.Authorization = new("Bearer", provider.Token);
        }
        if (!string.IsNullOrEmpty(provider.Secret))
        {
            request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(provider.Secret, time.GetUtcNow().ToUnixTimeSeconds(), body));
        }
        var (failed, response) = await CdnHttp.SendAsync(CdnHttp.Client(clients), request, "webhook", time, cancellationToken);
        response?.Dispose();
        return failed ?? CdnPurgeResult.Delivered($"{purge.Count} selectors posted");
    }

    /// <summary>The signature field's value: <c>t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}</c>.</summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var signed = new byte[t.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(t, signed);
        signed[t.Length] = (byte)'.';
        body.CopyTo(signed.AsSpan(t.Length + 1));
        return $"t={t},v1={Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed))}";
    }

    private sealed record Body(string Id, DateTimeOffset Created, IReadOnlyList<string> Urls, IReadOnlyList<string> Tags, IReadOnlyList<string> Prefixes, bool Soft);
}
