namespace CacheProxy.Http;

/// <summary>
/// The pieces of Structured Field parsing (RFC 9651 §4.2) that targeted cache-control fields need: keys, bare items
/// and parameters, each advancing an index over the field value and failing on anything the grammar does not allow.
/// </summary>
internal static class StructuredField
{
    public enum ItemType
    {
        Integer,
        Decimal,
        String,
        Token,
        ByteSequence,
        Boolean,
        Date,
        DisplayString,
    }

    /// <summary>key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ) (§4.2.3.3).</summary>
    public static bool TryKey(ReadOnlySpan<char> s, ref int i)
    {
        if (i >= s.Length || !(s[i] is (>= 'a' and <= 'z') or '*'))
        {
            return false;
        }
        i++;
        while (i < s.Length && s[i] is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' or '.' or '*')
        {
            i++;
        }
        return true;
    }

    /// <summary>OWS between Dictionary members (§4.2.2).</summary>
    public static void SkipWhitespace(ReadOnlySpan<char> s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }
    }

    /// <summary>parameters = *( ";" *SP key [ "=" bare-item ] ) (§4.2.3.2); their values are not kept.</summary>
    public static bool TryParameters(ReadOnlySpan<char> s, ref int i)
    {
        while (i < s.Length && s[i] == ';')
        {
            i++;
            while (i < s.Length && s[i] == ' ')
            {
                i++;
            }
            if (!TryKey(s, ref i))
            {
                return false;
            }
            if (i < s.Length && s[i] == '=')
            {
                i++;
                if (!TryBareItem(s, ref i, out _))
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>bare-item (§4.2.3.1): integer, decimal, string, token, byte sequence, boolean, date or display string.</summary>
    public static bool TryBareItem(ReadOnlySpan<char> s, ref int i, out ItemType type)
    {
        type = default;
        if (i >= s.Length)
        {
            return false;
        }
        switch (s[i])
        {
            case '-' or (>= '0' and <= '9'):
                return TryNumber(s, ref i, out type);
            case '"':
                type = ItemType.String;
                return TryString(s, ref i);
            case '*' or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z'):
                type = ItemType.Token;
                i++;
                while (i < s.Length && (CacheControl.IsTokenChar(s[i]) || s[i] is ':' or '/'))
                {
                    i++;
                }
                return true;
            case ':':
                type = ItemType.ByteSequence;
                i++;
                while (i < s.Length && s[i] is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '+' or '/' or '=')
                {
                    i++;
                }
                if (i >= s.Length || s[i] != ':')
                {
                    return false;
                }
                i++;
                return true;
            case '?':
                type = ItemType.Boolean;
                if (i + 1 < s.Length && s[i + 1] is '0' or '1')
                {
                    i += 2;
                    return true;
                }
                return false;
            case '@':
                i++;
                var valid = TryNumber(s, ref i, out var dateType) && dateType == ItemType.Integer;
                type = ItemType.Date;
                return valid;
            case '%':
                type = ItemType.DisplayString;
                i++;
                return TryString(s, ref i);
            default:
                return false;
        }
    }

    // sf-integer = ["-"] 1*15DIGIT; sf-decimal = ["-"] 1*12DIGIT "." 1*3DIGIT (§4.2.4).
    private static bool TryNumber(ReadOnlySpan<char> s, ref int i, out ItemType type)
    {
        type = ItemType.Integer;
        if (i < s.Length && s[i] == '-')
        {
            i++;
        }
        var start = i;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            i++;
        }
        var digits = i - start;
        if (digits == 0 || digits > 15)
        {
            return false;
        }
        if (i >= s.Length || s[i] != '.')
        {
            return true;
        }
        type = ItemType.Decimal;
        i++;
        var fractionStart = i;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            i++;
        }
        var fraction = i - fractionStart;
        return digits <= 12 && fraction is >= 1 and <= 3;
    }

    // sf-string = DQUOTE *( unescaped / "%" / "\" ( DQUOTE / "\" ) ) DQUOTE, printable ASCII only (§4.2.5).
    private static bool TryString(ReadOnlySpan<char> s, ref int i)
    {
        if (i >= s.Length || s[i] != '"')
        {
            return false;
        }
        i++;
        while (i < s.Length)
        {
            var c = s[i++];
            if (c == '"')
            {
                return true;
            }
            if (c == '\\')
            {
                if (i >= s.Length || s[i] is not ('"' or '\\'))
                {
                    return false;
                }
                i++;
            }
            else if (c is < ' ' or > '~')
            {
                return false;
            }
        }
        return false;
    }
}
