using Microsoft.Extensions.Primitives;

namespace CacheProxy.Http;

/// <summary>The targets of a <c>Link</c> field (RFC 8288 §3) whose <c>rel</c> names one of the given relation types.</summary>
internal static class LinkField
{
    /// <summary>
    /// Each link's target (the text between <c>&lt;</c> and <c>&gt;</c>) whose <c>rel</c> parameter lists one of
    /// <paramref name="relations"/> (compared without case), in order; malformed links are skipped.
    /// </summary>
    public static IEnumerable<string> Targets(StringValues values, params string[] relations)
    {
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }
            var i = 0;
            while (i < value.Length)
            {
                while (i < value.Length && (value[i] is ' ' or '\t' or ','))
                {
                    i++;
                }
                if (i >= value.Length || value[i] != '<')
                {
                    i = NextLink(value, i);
                    continue;
                }
                var close = value.IndexOf('>', i + 1);
                if (close < 0)
                {
                    yield break;
                }
                var target = value[(i + 1)..close];
                i = close + 1;
                var matches = false;
                // ; name=value | ; name="quoted value" … up to the next comma outside quotes
                while (i < value.Length && value[i] != ',')
                {
                    if (value[i] != ';')
                    {
                        i++;
                        continue;
                    }
                    i++;
                    var nameStart = i;
                    while (i < value.Length && value[i] is not ('=' or ';' or ','))
                    {
                        i++;
                    }
                    var name = value[nameStart..i].Trim();
                    string parameter = string.Empty;
                    if (i < value.Length && value[i] == '=')
                    {
                        i++;
                        while (i < value.Length && value[i] is ' ' or '\t')
                        {
                            i++;
                        }
                        if (i < value.Length && value[i] == '"')
                        {
                            var end = value.IndexOf('"', i + 1);
                            end = end < 0 ? value.Length : end;
                            parameter = value[(i + 1)..end];
                            i = Math.Min(end + 1, value.Length);
                        }
                        else
                        {
                            var start = i;
                            while (i < value.Length && value[i] is not (';' or ','))
                            {
                                i++;
                            }
                            parameter = value[start..i].Trim();
                        }
                    }
                    if (name.Equals("rel", StringComparison.OrdinalIgnoreCase))
                    {
                        matches |= parameter.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                            .Any(r => relations.Contains(r, StringComparer.OrdinalIgnoreCase));
                    }
                }
                if (matches && target.Length > 0)
                {
                    yield return target;
                }
            }
        }
    }

    // Past the next comma outside quotes.
    private static int NextLink(string value, int i)
    {
        var quoted = false;
        for (; i < value.Length; i++)
        {
            if (value[i] == '"')
            {
                quoted = !quoted;
            }
            else if (value[i] == ',' && !quoted)
            {
                return i + 1;
            }
        }
        return i;
    }
}
