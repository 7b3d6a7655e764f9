using System.Net;

namespace CacheProxy.Warming;

/// <summary>
/// The request that warms one URL. It goes to the gateway's own public endpoint and nowhere else, whatever the URL
/// looks like: the endpoint gives scheme, host and port; the URL gives only its parsed path and query (never joined
/// as strings, so a path like <c>//host/</c> cannot become an authority) and its host, as the Host field. Userinfo
/// is dropped. docs/security.md.
/// </summary>
internal static class WarmRequest
{
    /// <summary>The request for <paramref name="url"/> through <paramref name="target"/>; null with the reason when none can be made.</summary>
    public static HttpRequestMessage? For(Uri target, Uri url, Version version, out string? refused)
    {
        refused = null;
        Uri address;
        try
        {
            address = new UriBuilder(target.Scheme, target.Host, target.Port) { Path = url.AbsolutePath, Query = url.Query }.Uri;
        }
        catch (UriFormatException ex)
        {
            refused = $"no request can be made for it: {ex.Message}";
            return null;
        }
        // What the built address points at is checked, not assumed: anything a parser normalises stays on the target.
        if (address.Scheme != target.Scheme || address.Host != target.Host || address.Port != target.Port || address.UserInfo.Length > 0)
        {
            refused = "its path would leave the gateway's own endpoint";
            return null;
        }
        var request = new HttpRequestMessage(HttpMethod.Get, address) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        try
        {
            var host = url.HostNameType == UriHostNameType.IPv6 ? url.Host : url.IdnHost; // [::1], xn--bcher-kva.example
            request.Headers.Host = url.IsDefaultPort ? host : $"{host}:{url.Port}";
        }
        catch (FormatException ex)
        {
            request.Dispose();
            refused = $"its host is not a valid Host field: {ex.Message}";
            return null;
        }
        return request;
    }

    /// <summary>The protocol to try when <paramref name="version"/> brought no answer through the cache.</summary>
    public static Version Other(Version version) => version == HttpVersion.Version11 ? HttpVersion.Version20 : HttpVersion.Version11;
}
