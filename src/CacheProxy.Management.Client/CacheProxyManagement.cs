using System.Net.Http.Headers;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace CacheProxy.Management.Client;

/// <summary>Makes a <see cref="CacheProxyManagementClient"/> for a gateway's management endpoint.</summary>
public static class CacheProxyManagement
{
    /// <summary>A client for the management endpoint at <paramref name="managementUrl"/>, sending <paramref name="apiKey"/> as a Bearer token.</summary>
    /// <param name="managementUrl">The management port's base URL, e.g. <c>http://127.0.0.1:8081</c>.</param>
    /// <param name="apiKey">A key of the gateway's <c>CacheProxy:Management:ApiKeys</c>; null sends none (only health may then answer, if allowed).</param>
    /// <param name="httpClient">The client to send with (its timeout, handler and headers are kept); null: a new one the adapter owns.</param>
    /// <returns>The client.</returns>
    public static CacheProxyManagementClient Create(Uri managementUrl, string? apiKey, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(managementUrl);
        var http = httpClient ?? KiotaClientFactory.Create();
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        // The key rides on the HttpClient, so the adapter needs no authentication of its own.
        var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = managementUrl.ToString().TrimEnd('/'),
        };
        return new CacheProxyManagementClient(adapter);
    }
}
