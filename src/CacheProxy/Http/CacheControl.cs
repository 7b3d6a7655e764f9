using Microsoft.Extensions.Primitives;

namespace CacheProxy.Http;

/// <summary>
/// Parsed Cache-Control (or CDN-Cache-Control) directives, request or response side. RFC 9111 §5.2.
/// Parsing is allocation-free unless a directive carries field names (no-cache="…", private="…").
/// </summary>
internal struct CacheControl
{
    // Delta-seconds larger than this are capped (RFC 9111 §1.2.2: 2^31).
    private const long MaxDeltaSeconds = 2147483648;

    public bool Present;
    public bool NoStore;
    public bool NoCache;
    public string[]? NoCacheFields;
    public bool Private;
    public string[]? PrivateFields;
    public bool Public;
    public bool MustRevalidate;
    public bool ProxyRevalidate;
    public bool Immutable;
    public bool OnlyIfCached;
    public bool MustUnderstand;
    public bool NoTransform;
    /// <summary>max-age seconds; -1 when absent, -2 when present but invalid (treated as stale).</summary>
    public long MaxAge;
    public long SharedMaxAge;
    public long StaleWhileRevalidate;
    public long StaleIfError;
    /// <summary>max-stale: -1 absent, long.MaxValue when given without a value.</summary>
    public long MaxStale;
    public long MinFresh;
    /// <summary>Surrogate-Control's <c>content</c> directive names ESI/1.0 (Edge Architecture 1.0): the body is to be processed for ESI.</summary>
    public bool EsiContent;

    public const long Absent = -1;
    public const long Invalid = -2;

    public static CacheControl Parse(StringValues values) => Parse(values, null);

    /// <summary>
    /// Parses a directive list. With <paramref name="surrogateTarget"/> set, directives may carry a
    /// <c>;target</c> suffix (Edge Architecture Surrogate-Control); those aimed at another target are skipped.
    /// </summary>
    public static CacheControl Parse(StringValues values, string? surrogateTarget)
    {
        var cc = new CacheControl
        {
            MaxAge = Absent,
            SharedMaxAge = Absent,
            StaleWhileRevalidate = Absent,
            StaleIfError = Absent,
            MaxStale = Absent,
            MinFresh = Absent,
        };
        for (var i = 0; i < values.Count; i++)
        {
            var line = values[i];
            if (!string.IsNullOrEmpty(line))
            {
                cc.Present = true;
                ParseLine(line.AsSpan(), ref cc, surrogateTarget);
            }
        }
        return cc;
    }

    /// <summary>
    /// Parses a targeted field such as CDN-Cache-Control (RFC 9213 §2.1): a Structured Field Dictionary (RFC 9651
    /// §3.2). A value that does not parse as one makes the whole field count as absent (<see cref="Present"/> false),
    /// so the cache falls back to Cache-Control. Directives whose value has the wrong type (e.g. a string for
    /// max-age) are ignored; member parameters are ignored; a boolean false (<c>?0</c>) means absent.
    /// </summary>
    public static CacheControl ParseTargeted(StringValues values)
    {
        var absent = Parse(StringValues.Empty);
        var field = values.Count == 1 ? values[0] ?? string.Empty : string.Join(", ", values.ToArray());
        var s = field.AsSpan().Trim(' ');
        if (s.IsEmpty)
        {
            return absent;
        }
        var parsed = absent;
        parsed.Present = true;
        var i = 0;
        while (true)
        {
            var keyStart = i;
            if (!StructuredField.TryKey(s, ref i))
            {
                return absent;
            }
            var key = s[keyStart..i];
            var type = StructuredField.ItemType.Boolean;
            var value = "?1".AsSpan(); // a key without a value is true
            if (i < s.Length && s[i] == '=')
            {
                i++;
                var valueStart = i;
                if (!StructuredField.TryBareItem(s, ref i, out type))
                {
                    return absent;
                }
                value = s[valueStart..i];
            }
            if (!StructuredField.TryParameters(s, ref i))
            {
                return absent;
            }
            ApplyTargeted(key, type, value, ref parsed);
            StructuredField.SkipWhitespace(s, ref i);
            if (i == s.Length)
            {
                return parsed;
            }
            if (s[i] != ',')
            {
                return absent;
            }
            i++;
            StructuredField.SkipWhitespace(s, ref i);
            if (i == s.Length)
            {
                return absent; // a trailing comma
            }
        }
    }

    // Delta directives take an Integer (a negative one is ignored, a large one capped like delta-seconds); the others
    // are flags, present unless false. Field-name lists (no-cache="…", private="…") do not exist here: the flag applies.
    private static void ApplyTargeted(ReadOnlySpan<char> key, StructuredField.ItemType type, ReadOnlySpan<char> value, ref CacheControl cc)
    {
        var delta = key is "max-age" or "s-maxage" or "stale-while-revalidate" or "stale-if-error";
        if (delta)
        {
            if (type == StructuredField.ItemType.Integer && value[0] != '-')
            {
                Apply(key, hasValue: true, value, valid: true, ref cc);
            }
            return;
        }
        if (type == StructuredField.ItemType.Boolean && value.SequenceEqual("?0"))
        {
            return;
        }
        Apply(key, hasValue: false, default, valid: true, ref cc);
    }

    private static void ParseLine(ReadOnlySpan<char> s, ref CacheControl cc, string? surrogateTarget)
    {
        var i = 0;
        while (i < s.Length)
        {
            // Skip separators and whitespace between directives.
            while (i < s.Length && (s[i] == ',' || s[i] == ' ' || s[i] == '\t'))
            {
                i++;
            }
            if (i >= s.Length)
            {
                return;
            }

            var nameStart = i;
            while (i < s.Length && IsTokenChar(s[i]))
            {
                i++;
            }
            var name = s[nameStart..i];
            ReadOnlySpan<char> value = default;
            var hasValue = false;
            var valueValid = true;
            string? quotedCopy = null;

            if (i < s.Length && s[i] == '=')
            {
                i++;
                hasValue = true;
                if (i < s.Length && s[i] == '"')
                {
                    // quoted-string (RFC 9110 §5.6.4); escapes are rare, so copy only when one occurs.
                    i++;
                    var start = i;
                    var escaped = false;
                    while (i < s.Length && s[i] != '"')
                    {
                        if (s[i] == '\\' && i + 1 < s.Length)
                        {
                            escaped = true;
                            i++;
                        }
                        i++;
                    }
                    if (i >= s.Length)
                    {
                        valueValid = false; // unterminated
                        value = s[start..];
                    }
                    else
                    {
                        value = s[start..i];
                        i++; // closing quote
                    }
                    if (escaped)
                    {
                        quotedCopy = Unescape(value);
                        value = quotedCopy.AsSpan();
                    }
                }
                else
                {
                    var start = i;
                    while (i < s.Length && IsTokenChar(s[i]))
                    {
                        i++;
                    }
                    value = s[start..i];
                }
            }

            // A ;target suffix (Surrogate-Control only) names the surrogate the directive is for.
            if (surrogateTarget is not null && i < s.Length && s[i] == ';')
            {
                var targetStart = ++i;
                while (i < s.Length && IsTokenChar(s[i]))
                {
                    i++;
                }
                if (!s[targetStart..i].Equals(surrogateTarget, StringComparison.OrdinalIgnoreCase))
                {
                    name = default; // aimed at another surrogate: skip it
                }
            }

            // Anything else up to the next comma makes this directive malformed (e.g. "max-age =3600").
            var trailingJunk = false;
            while (i < s.Length && s[i] != ',')
            {
                if (s[i] != ' ' && s[i] != '\t')
                {
                    trailingJunk = true;
                }
                i++;
            }
            if (name.IsEmpty)
            {
                continue;
            }
            if (trailingJunk)
            {
                valueValid = false;
            }
            Apply(name, hasValue, value, valueValid, ref cc);
        }
    }

    private static void Apply(ReadOnlySpan<char> name, bool hasValue, ReadOnlySpan<char> value, bool valid, ref CacheControl cc)
    {
        // Directive names are case-insensitive (RFC 9111 §5.2). For duplicates the first occurrence wins (§4.2.1).
        if (Is(name, "max-age"))
        {
            SetDelta(ref cc.MaxAge, hasValue, value, valid);
        }
        else if (Is(name, "s-maxage"))
        {
            SetDelta(ref cc.SharedMaxAge, hasValue, value, valid);
        }
        else if (Is(name, "no-store"))
        {
            cc.NoStore = true;
        }
        else if (Is(name, "no-cache"))
        {
            if (hasValue && valid && !value.IsEmpty)
            {
                cc.NoCacheFields = Merge(cc.NoCacheFields, value);
            }
            cc.NoCache = true;
        }
        else if (Is(name, "private"))
        {
            if (hasValue && valid && !value.IsEmpty)
            {
                cc.PrivateFields = Merge(cc.PrivateFields, value);
            }
            cc.Private = true;
        }
        else if (Is(name, "public"))
        {
            cc.Public = true;
        }
        else if (Is(name, "must-revalidate"))
        {
            cc.MustRevalidate = true;
        }
        else if (Is(name, "proxy-revalidate"))
        {
            cc.ProxyRevalidate = true;
        }
        else if (Is(name, "immutable"))
        {
            cc.Immutable = true;
        }
        else if (Is(name, "only-if-cached"))
        {
            cc.OnlyIfCached = true;
        }
        else if (Is(name, "must-understand"))
        {
            cc.MustUnderstand = true;
        }
        else if (Is(name, "no-transform"))
        {
            cc.NoTransform = true;
        }
        else if (Is(name, "stale-while-revalidate"))
        {
            SetDelta(ref cc.StaleWhileRevalidate, hasValue, value, valid);
        }
        else if (Is(name, "stale-if-error"))
        {
            SetDelta(ref cc.StaleIfError, hasValue, value, valid);
        }
        else if (Is(name, "max-stale"))
        {
            if (cc.MaxStale == Absent)
            {
                cc.MaxStale = !hasValue ? long.MaxValue : (TryDelta(value, valid, out var d) ? d : Invalid);
            }
        }
        else if (Is(name, "min-fresh"))
        {
            SetDelta(ref cc.MinFresh, hasValue, value, valid);
        }
        else if (Is(name, "content"))
        {
            // A space-separated list of capabilities, e.g. "ESI/1.0 ESI-Inline/1.0".
            foreach (var range in value.Split(' '))
            {
                cc.EsiContent |= value[range].Equals("ESI/1.0", StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    private static void SetDelta(ref long field, bool hasValue, ReadOnlySpan<char> value, bool valid)
    {
        if (field != Absent)
        {
            return; // first occurrence wins
        }
        field = hasValue && TryDelta(value, valid, out var d) ? d : Invalid;
    }

    /// <summary>delta-seconds = 1*DIGIT (RFC 9111 §1.2.2); leading zeros allowed; overflow capped at 2^31.</summary>
    internal static bool TryDelta(ReadOnlySpan<char> value, bool valid, out long seconds)
    {
        seconds = 0;
        if (!valid || value.IsEmpty)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
            if (seconds < MaxDeltaSeconds)
            {
                seconds = (seconds * 10) + (c - '0');
            }
        }
        if (seconds > MaxDeltaSeconds)
        {
            seconds = MaxDeltaSeconds;
        }
        return true;
    }

    private static string[] Merge(string[]? existing, ReadOnlySpan<char> list)
    {
        var fields = new List<string>(existing ?? []);
        foreach (var range in list.Split(','))
        {
            var f = list[range].Trim();
            if (!f.IsEmpty)
            {
                fields.Add(f.ToString());
            }
        }
        return [.. fields];
    }

    private static string Unescape(ReadOnlySpan<char> quoted)
    {
        var chars = new char[quoted.Length];
        var n = 0;
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '\\' && i + 1 < quoted.Length)
            {
                i++;
            }
            chars[n++] = quoted[i];
        }
        return new string(chars, 0, n);
    }

    private static bool Is(ReadOnlySpan<char> name, string directive) =>
        name.Equals(directive, StringComparison.OrdinalIgnoreCase);

    // tchar (RFC 9110 §5.6.2)
    internal static bool IsTokenChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
}
