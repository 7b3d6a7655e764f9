using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace CacheProxy.Http;

/// <summary>
/// Accept-Encoding negotiation (RFC 9110 §12.5.3) over the codings a cache keeps: br, gzip and identity. A request's
/// <see cref="Class"/> is the coding it would be served, so that any number of distinct Accept-Encoding strings
/// share three cache keys.
/// </summary>
internal static class AcceptEncoding
{
    public const string Brotli = "br";
    public const string Gzip = "gzip";
    public const string Identity = "identity";

    /// <summary>
    /// The best of br, gzip and identity that <paramref name="acceptEncoding"/> allows: the highest q-value above 0,
    /// br before gzip before identity on a tie; identity not named comes last. No field, or one that cannot be parsed, is identity (RFC 9110:
    /// without Accept-Encoding any coding is acceptable, and identity is what every client can read); so is a field
    /// that refuses all three (the server may then send identity anyway).
    /// </summary>
    public static string Class(StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(acceptEncoding))
        {
            return Identity;
        }
        double? br = null, gzip = null, identity = null, any = null;
        foreach (var line in acceptEncoding)
        {
            if (line is null)
            {
                continue;
            }
            foreach (var range in line.AsSpan().Split(','))
            {
                var item = line.AsSpan()[range].Trim();
                if (item.IsEmpty)
                {
                    continue;
                }
                var semicolon = item.IndexOf(';');
                var coding = (semicolon < 0 ? item : item[..semicolon]).Trim();
                if (!TryQuality(semicolon < 0 ? [] : item[(semicolon + 1)..], out var q))
                {
                    return Identity;
                }
                if (coding.Equals(Brotli, StringComparison.OrdinalIgnoreCase))
                {
                    br = Math.Max(br ?? 0, q);
                }
                else if (coding.Equals(Gzip, StringComparison.OrdinalIgnoreCase) || coding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
                {
                    gzip = Math.Max(gzip ?? 0, q);
                }
                else if (coding.Equals(Identity, StringComparison.OrdinalIgnoreCase))
                {
                    identity = Math.Max(identity ?? 0, q);
                }
                else if (coding.SequenceEqual("*"))
                {
                    any = Math.Max(any ?? 0, q);
                }
            }
        }
        // A coding not named takes "*"'s q-value. Identity not named is acceptable (§12.5.3) but the last choice: a
        // client that lists "br;q=0.5" wants br rather than nothing.
        var qBr = br ?? any ?? 0;
        var qGzip = gzip ?? any ?? 0;
        var qIdentity = identity ?? any ?? 0.0001;
        if (qBr > 0 && qBr >= qGzip && qBr >= qIdentity)
        {
            return Brotli;
        }
        if (qGzip > 0 && qGzip >= qIdentity)
        {
            return Gzip;
        }
        return Identity;
    }

    /// <summary>
    /// Whether a response with <paramref name="contentEncoding"/> can be served to every request of
    /// <paramref name="acceptEncoding"/>'s class: identity (none), or the class's own coding.
    /// </summary>
    public static bool FitsClass(StringValues contentEncoding, StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(contentEncoding))
        {
            return true;
        }
        var coding = contentEncoding.ToString().Trim();
        return coding.Equals(Identity, StringComparison.OrdinalIgnoreCase) || coding.Equals(Class(acceptEncoding), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parses the parameters after a coding: q=0 … q=1 with up to three decimals; other parameters are not allowed.</summary>
    private static bool TryQuality(ReadOnlySpan<char> parameters, out double q)
    {
        q = 1;
        parameters = parameters.Trim();
        if (parameters.IsEmpty)
        {
            return true;
        }
        if (parameters.Length < 3 || (parameters[0] is not ('q' or 'Q')) || parameters[1] != '=')
        {
            return false;
        }
        var value = parameters[2..];
        return value.Length <= 5 && (value[0] is '0' or '1')
            && double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out q) && q is >= 0 and <= 1;
    }
}
