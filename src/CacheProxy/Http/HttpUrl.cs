using System.Diagnostics.CodeAnalysis;

namespace CacheProxy.Http;

/// <summary>The URLs the cache and its management plane take from people: absolute, http or https.</summary>
internal static class HttpUrl
{
    /// <summary>Parses <paramref name="value"/> as an absolute <c>http://</c> or <c>https://</c> URL; false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out Uri? url)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
        {
            return true;
        }
        url = null;
        return false;
    }
}
