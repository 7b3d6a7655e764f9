using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CacheProxy.Images;

/// <summary>
/// Signs image parameters as the gateway checks them (docs/images.md): HMAC-SHA256, with the route's
/// <c>Images:SigningKey</c>, of the path and the parameters in one spelling, base64url without padding, in <c>s=</c>.
/// </summary>
public static class ImageSigning
{
    /// <summary>The signature of <paramref name="path"/> with the parameters given (null: absent).</summary>
    /// <param name="key">The route's <c>Images:SigningKey</c>.</param>
    /// <param name="path">The image's path, as requested (without the query).</param>
    /// <param name="width"><c>w</c>.</param>
    /// <param name="height"><c>h</c>.</param>
    /// <param name="fit"><c>fit</c>: <c>cover</c> or <c>contain</c>.</param>
    /// <param name="quality"><c>q</c>.</param>
    /// <param name="format"><c>format</c>: <c>avif</c>, <c>webp</c> or <c>original</c>.</param>
    /// <returns>The value of <c>s</c>.</returns>
    public static string Sign(string key, string path, int? width = null, int? height = null, string? fit = null, int? quality = null, string? format = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(path);
        var canonical = Canonical(path, width, height, fit, quality, format);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(canonical));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    internal static bool Verify(string key, string path, int? width, int? height, string? fit, int? quality, string? format, string signature)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(key, path, width, height, fit, quality, format));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }

    private static string Canonical(string path, int? width, int? height, string? fit, int? quality, string? format) => string.Create(CultureInfo.InvariantCulture,
        $"{path}?fit={fit}&format={format}&h={height}&q={quality}&w={width}");
}
