using CacheProxy.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// Keying on Accept-Encoding, in one place. A response is keyed on the request's Accept-Encoding class (br, gzip or
/// identity: <see cref="AcceptEncoding.Class"/>), not its text, when its coding depends on it: one to store
/// compressed too (<see cref="Compressor"/>), one the origin sent in br or gzip without saying it varies (a client
/// that cannot read it must not get it from the cache), or one for a URL already keyed so. Requests for such a URL
/// go upstream with their class in place of their text, so the origin's choice follows the key.
/// </summary>
internal static class AcceptEncodingKeying
{
    /// <summary>Whether Vary names (lower-case, as a <see cref="VaryRule"/> holds them) include Accept-Encoding.</summary>
    public static bool IsKeyedOn(IReadOnlyList<string>? varyNames) => varyNames is not null && varyNames.Contains(Variants.AcceptEncodingName);

    /// <summary>Whether Accept-Encoding is the only name: the variant key's suffix is then the class, written without a string.</summary>
    public static bool IsOnlyKey(IReadOnlyList<string> varyNames) => varyNames is [Variants.AcceptEncodingName];

    /// <summary>A request for a URL keyed on Accept-Encoding goes upstream with its class: what comes back can be stored under its key.</summary>
    public static void ForwardClass(HttpRequest request) =>
        request.Headers.AcceptEncoding = AcceptEncoding.Class(request.Headers.AcceptEncoding);

    /// <summary>Whether the origin sent the response in br or gzip (and nothing else).</summary>
    public static bool EncodedByOrigin(HttpResponse response)
    {
        var coding = response.Headers.ContentEncoding;
        return coding.Count == 1 && coding.ToString().Trim() is var c
            && (c.Equals(AcceptEncoding.Brotli, StringComparison.OrdinalIgnoreCase) || c.Equals(AcceptEncoding.Gzip, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Keys the response on the class when it must be (<paramref name="compress"/>: it is stored compressed too;
    /// <paramref name="urlKeyed"/>: its URL already is), adding <c>Vary: Accept-Encoding</c> then. Returns why it is not
    /// stored when its coding cannot serve every request of its key, else null.
    /// </summary>
    public static string? Key(HttpRequest request, HttpResponse response, bool compress, bool urlKeyed, ref IReadOnlyList<string>? varyNames)
    {
        // A URL already keyed on it stays so: this response was fetched for one class, as its siblings were.
        if ((compress || urlKeyed || EncodedByOrigin(response)) && !IsKeyedOn(varyNames))
        {
            response.Headers.Append(HeaderNames.Vary, HeaderNames.AcceptEncoding);
            varyNames = [.. (varyNames ?? []).Append(Variants.AcceptEncodingName).Order(StringComparer.Ordinal)];
        }
        var coding = response.Headers.ContentEncoding;
        var accepted = request.Headers.AcceptEncoding;
        if (IsKeyedOn(varyNames) && !AcceptEncoding.FitsClass(coding, accepted))
        {
            // Keyed on the coding the request is served: a response in another coding would reach clients of that key
            // that cannot read it. Forwarded requests carry the class once the rule is known, so this is the first one.
            return $"content-coding '{coding}' is neither identity nor the Accept-Encoding class '{AcceptEncoding.Class(accepted)}'";
        }
        return null;
    }
}
