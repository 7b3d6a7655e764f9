using System.Text;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Esi;

/// <summary>The request fields a page's variables read: the assembled response varies on them.</summary>
[Flags]
internal enum EsiReads
{
    None = 0,
    Cookie = 1,
    Host = 2,
    AcceptLanguage = 4,
    Referer = 8,
    UserAgent = 16,
}

/// <summary>
/// An ESI variable, <c>$(NAME)</c>, <c>$(NAME{key})</c>, with an optional default <c>$(NAME|'…')</c> (ESI 1.0 §5):
/// HTTP_HOST, HTTP_REFERER, HTTP_USER_AGENT, HTTP_COOKIE{name} (only the cookies the route lists),
/// HTTP_ACCEPT_LANGUAGE{lang} (<c>true</c> or <c>false</c>), QUERY_STRING and QUERY_STRING{name}. Anything else is unset.
/// </summary>
internal sealed record EsiVariable(string Name, string? Key, string Default)
{
    public EsiReads Reads => Name switch
    {
        "HTTP_COOKIE" => EsiReads.Cookie,
        "HTTP_HOST" => EsiReads.Host,
        "HTTP_ACCEPT_LANGUAGE" => EsiReads.AcceptLanguage,
        "HTTP_REFERER" => EsiReads.Referer,
        "HTTP_USER_AGENT" => EsiReads.UserAgent,
        _ => EsiReads.None,
    };

    /// <summary>The variable's value for <paramref name="request"/>, or its default when unset or empty.</summary>
    public string Evaluate(HttpRequest request, string[] cookies)
    {
        var value = Name switch
        {
            "HTTP_HOST" when Key is null => request.Host.Value,
            "HTTP_REFERER" when Key is null => request.Headers.Referer.ToString(),
            "HTTP_USER_AGENT" when Key is null => request.Headers.UserAgent.ToString(),
            "HTTP_COOKIE" when Key is not null && Array.IndexOf(cookies, Key) >= 0 => request.Cookies[Key],
            "HTTP_ACCEPT_LANGUAGE" when Key is not null => AcceptsLanguage(request, Key) ? "true" : "false",
            "QUERY_STRING" when Key is null => request.QueryString.HasValue ? request.QueryString.Value![1..] : null,
            "QUERY_STRING" => request.Query.TryGetValue(Key, out var values) ? values.ToString() : null,
            _ => null,
        };
        return string.IsNullOrEmpty(value) ? Default : value;
    }

    /// <summary>Whether Accept-Language lists <paramref name="language"/> or a tag of it (en for en-GB), with a quality above 0.</summary>
    private static bool AcceptsLanguage(HttpRequest request, string language)
    {
        foreach (var line in request.Headers.AcceptLanguage)
        {
            foreach (var item in (line ?? string.Empty).Split(','))
            {
                var parts = item.Split(';');
                var tag = parts[0].Trim();
                var quality = parts.Length > 1 && parts[1].Trim() is { } q && q.StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                    && double.TryParse(q[2..], System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : 1;
                if (quality > 0 && (tag.Equals(language, StringComparison.OrdinalIgnoreCase)
                    || (tag.Length > language.Length && tag[language.Length] == '-' && tag.StartsWith(language, StringComparison.OrdinalIgnoreCase))))
                {
                    return true;
                }
            }
        }
        return false;
    }
}

/// <summary>Text with ESI variables in it (an attribute value, the text inside &lt;esi:vars&gt;), parsed once.</summary>
internal sealed class EsiText
{
    private readonly object[] _parts; // string or EsiVariable

    private EsiText(object[] parts, EsiReads reads)
    {
        _parts = parts;
        Reads = reads;
    }

    public EsiReads Reads { get; }

    /// <summary>What a constant src or alt last resolved to (<see cref="EsiAssembler"/>'s; replaced whole, never changed).</summary>
    internal object? Resolved { get; set; }

    /// <summary>The text alone, when it has no variables.</summary>
    public string? Constant => _parts.Length switch
    {
        0 => string.Empty,
        1 when _parts[0] is string s => s,
        _ => null,
    };

    public static EsiText Parse(string text)
    {
        var parts = new List<object>();
        var reads = EsiReads.None;
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '(' && TryParseVariable(text, i, out var variable, out var next))
            {
                if (literal.Length > 0)
                {
                    parts.Add(literal.ToString());
                    literal.Clear();
                }
                parts.Add(variable);
                reads |= variable.Reads;
                i = next;
                continue;
            }
            literal.Append(text[i]);
            i++;
        }
        if (literal.Length > 0)
        {
            parts.Add(literal.ToString());
        }
        return new EsiText([.. parts], reads);
    }

    /// <summary>A variable at <paramref name="start"/> (<c>$(</c>); <paramref name="next"/> is just after its <c>)</c>.</summary>
    internal static bool TryParseVariable(string text, int start, out EsiVariable variable, out int next)
    {
        variable = null!;
        next = start;
        var i = start + 2;
        var nameStart = i;
        while (i < text.Length && (char.IsAsciiLetterUpper(text[i]) || text[i] == '_'))
        {
            i++;
        }
        if (i == nameStart || i >= text.Length)
        {
            return false;
        }
        var name = text[nameStart..i];
        string? key = null;
        if (text[i] == '{')
        {
            var close = text.IndexOf('}', i);
            if (close < 0)
            {
                return false;
            }
            key = text[(i + 1)..close];
            i = close + 1;
        }
        var fallback = string.Empty;
        if (i < text.Length && text[i] == '|')
        {
            i++;
            if (i < text.Length && text[i] == '\'')
            {
                var close = text.IndexOf('\'', i + 1);
                if (close < 0)
                {
                    return false;
                }
                fallback = text[(i + 1)..close];
                i = close + 1;
            }
            else
            {
                var close = text.IndexOf(')', i);
                if (close < 0)
                {
                    return false;
                }
                fallback = text[i..close];
                i = close;
            }
        }
        if (i >= text.Length || text[i] != ')')
        {
            return false;
        }
        variable = new EsiVariable(name, key, fallback);
        next = i + 1;
        return true;
    }

    /// <summary>The text with each variable's value passed through <paramref name="escape"/> (the literal text is kept as it is).</summary>
    public string Evaluate(HttpRequest request, string[] cookies, Func<string, string> escape)
    {
        if (Constant is { } constant)
        {
            return constant;
        }
        var result = new StringBuilder();
        foreach (var part in _parts)
        {
            result.Append(part is EsiVariable variable ? escape(variable.Evaluate(request, cookies)) : (string)part);
        }
        return result.ToString();
    }
}
