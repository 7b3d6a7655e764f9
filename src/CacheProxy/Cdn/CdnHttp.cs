using System.Net;
using System.Net.Http.Headers;

namespace CacheProxy.Cdn;

/// <summary>What the built-in providers share: their HTTP client, and how an answer or a failure of a provider's API is read.</summary>
internal static class CdnHttp
{
    /// <summary>The named client of the built-in providers (<c>IHttpClientFactory</c>): configure it with <c>AddHttpClient("CacheProxy.Cdn")</c> for a proxy.</summary>
    public const string ClientName = "CacheProxy.Cdn";

    public static HttpClient Client(IHttpClientFactory clients)
    {
        var client = clients.CreateClient(ClientName);
        client.Timeout = Timeout.InfiniteTimeSpan; // CacheProxy:Cdn:RequestTimeout bounds every attempt
        return client;
    }

    /// <summary>The base URL with one trailing slash removed, so paths append to it.</summary>
    public static string Base(string? configured, string fallback) => (string.IsNullOrEmpty(configured) ? fallback : configured).TrimEnd('/');

    /// <summary>
    /// Sends a request; null when the provider took it (2xx), else the result to record: retry on 408, 429 (with its
    /// Retry-After) and 5xx and when the provider cannot be reached, failed on any other status.
    /// </summary>
    public static async Task<(CdnPurgeResult? Result, HttpResponseMessage? Response)> SendAsync(HttpClient client, HttpRequestMessage request, string what,
        TimeProvider time, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return (CdnPurgeResult.Retry(ex.InnerException is { } inner ? $"{what}: {ex.Message} ({inner.Message})" : $"{what}: {ex.Message}"), null);
        }
        if (response.IsSuccessStatusCode)
        {
            return (null, response);
        }
        var status = (int)response.StatusCode;
        var detail = $"{what}: {status} {response.ReasonPhrase}";
        response.Dispose();
        return status switch
        {
            429 => (CdnPurgeResult.Retry(detail, RetryAfter(response.Headers.RetryAfter, time.GetUtcNow())), null),
            (int)HttpStatusCode.RequestTimeout or >= 500 => (CdnPurgeResult.Retry(detail), null),
            _ => (CdnPurgeResult.Failed(detail), null),
        };
    }

    /// <summary>Retry-After as a delay (RFC 9110 §10.2.3: seconds or a date); null when absent or past.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? value, DateTimeOffset now) => value switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } when date > now => date - now,
        _ => null,
    };

    /// <summary>A URL without its scheme (<c>www.example.com/a</c>), as Fastly's URL purge and Cloudflare's prefixes name them.</summary>
    public static string WithoutScheme(string url)
    {
        var at = url.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? url : url[(at + 3)..];
    }
}
