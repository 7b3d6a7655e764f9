using System.Text;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Caching;

/// <summary>
/// The Vary rule of a URL (RFC 9111 §4.1): the request fields its responses vary on, a generation that is part of
/// every variant's key (a new rule orphans the old variants), and the variants stored, oldest first (bounded by
/// <c>MaxVariantsPerUrl</c>). Stored under the URL's primary key as an ordinary <see cref="CacheEntry"/> — status 0
/// (no response has it), the names in a Vary field, the generation and variants as lines of the body — so a store
/// persists it like any entry and knows nothing of it.
/// </summary>
internal sealed record VaryRule(IReadOnlyList<string> Names, string Generation, IReadOnlyList<string> Variants)
{
    private const int Status = 0;

    public static bool IsRule(CacheEntry entry) => entry.StatusCode == Status;

    public static bool IsRule(StoredEntry stored) => stored.Entry.StatusCode == Status;

    /// <summary>The rule a stored entry holds, decoded once and kept beside it; null for a response or a malformed rule.</summary>
    public static VaryRule? Read(StoredEntry stored)
    {
        if (stored.Derived is VaryRule decoded)
        {
            return decoded;
        }
        var rule = Decode(stored.Entry);
        if (rule is not null)
        {
            stored.Derived = rule;
        }
        return rule;
    }

    /// <summary>The rule an entry holds; null for a response or a malformed rule.</summary>
    public static VaryRule? Decode(CacheEntry entry)
    {
        if (entry.StatusCode != Status || !Caching.Variants.Names(entry.GetHeader(HeaderNames.Vary), out var names) || names is null)
        {
            return null;
        }
        var lines = Encoding.UTF8.GetString(entry.Body.Span).Split('\n');
        return new VaryRule(names, lines[0], lines.Length > 1 ? lines[1..] : []);
    }

    public CacheEntry ToEntry() => new()
    {
        StatusCode = Status,
        Headers = [new(HeaderNames.Vary, string.Join(", ", Names))],
        Body = Encoding.UTF8.GetBytes(string.Join('\n', [Generation, .. Variants])),
    };

    public bool SameNames(IReadOnlyList<string> names)
    {
        if (Names.Count != names.Count)
        {
            return false;
        }
        for (var i = 0; i < names.Count; i++)
        {
            if (!string.Equals(Names[i], names[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Vary (RFC 9111 §4.1): field names, secondary keys and variant keys.</summary>
internal static class Variants
{
    /// <summary>Accept-Encoding, as Vary names it here: keyed on its class, not its text (<see cref="Http.AcceptEncoding.Class"/>).</summary>
    public const string AcceptEncodingName = "accept-encoding";

    /// <summary>Between a variant key's parts.</summary>
    private const char Separator = '\x1E';

    /// <summary>The key of a variant: see the layout in <see cref="CacheKey"/>.</summary>
    public static string Key(string key, string generation, string suffix) =>
        string.Create(KeyLength(key, generation, suffix), (key, generation, suffix), static (span, parts) => WriteKey(parts.key, parts.generation, parts.suffix, span));

    /// <summary>How long <see cref="Key"/>'s result is.</summary>
    public static int KeyLength(ReadOnlySpan<char> key, string generation, string suffix) => key.Length + generation.Length + suffix.Length + 2;

    /// <summary>Writes <see cref="Key"/> into <paramref name="destination"/> (<see cref="KeyLength"/> long), for a lookup that builds no string.</summary>
    public static void WriteKey(ReadOnlySpan<char> key, string generation, string suffix, Span<char> destination)
    {
        key.CopyTo(destination);
        var at = key.Length;
        destination[at++] = Separator;
        generation.CopyTo(destination[at..]);
        at += generation.Length;
        destination[at++] = Separator;
        suffix.CopyTo(destination[at..]);
    }

    /// <summary>The key of the request's variant under <paramref name="rule"/>, or null when a value cannot be keyed.</summary>
    public static string? KeyFor(string key, VaryRule rule, HttpRequest request) =>
        Suffix(request, rule.Names, out var suffix) ? Key(key, rule.Generation, suffix) : null;

    /// <summary>Parses Vary into sorted lower-case field names; false for <c>Vary: *</c>, which never matches.</summary>
    public static bool Names(StringValues vary, out IReadOnlyList<string>? names)
    {
        names = null;
        if (StringValues.IsNullOrEmpty(vary))
        {
            return true;
        }
        var list = new List<string>();
        foreach (var line in vary)
        {
            if (line is null)
            {
                continue;
            }
            foreach (var range in line.AsSpan().Split(','))
            {
                var name = line.AsSpan()[range].Trim();
                if (name.SequenceEqual("*"))
                {
                    return false;
                }
                if (!name.IsEmpty)
                {
                    var lower = name.ToString().ToLowerInvariant();
                    if (!list.Contains(lower))
                    {
                        list.Add(lower);
                    }
                }
            }
        }
        list.Sort(StringComparer.Ordinal);
        names = list.Count == 0 ? null : list;
        return true;
    }

    /// <summary>
    /// The secondary key: the request's values of the Vary fields, normalised (lines joined, whitespace around
    /// commas and runs of whitespace collapsed: RFC 9111 §4.1 allows semantically identical values to match);
    /// Accept-Encoding by the coding it selects among br, gzip and identity (<paramref name="acceptEncodingClass"/> when
    /// given). Accept-Language and Accept-Charset are also lower-cased: language ranges, charsets and the q parameter
    /// are case-insensitive (RFC 9110 §12.5.4, §8.4.1, §12.4.2).
    /// False when a value holds a control character.
    /// </summary>
    public static bool Suffix(HttpRequest request, IReadOnlyList<string> names, out string suffix, string? acceptEncodingClass = null)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(CacheKey.FieldSeparator);
            }
            var values = request.Headers[names[i]];
            if (names[i] == AcceptEncodingName)
            {
                // The coding the request would be served: thousands of Accept-Encoding strings, three keys.
                sb.Append(acceptEncodingClass ?? Http.AcceptEncoding.Class(values));
                continue;
            }
            if (StringValues.IsNullOrEmpty(values))
            {
                sb.Append(CacheKey.AbsentValue);
                continue;
            }
            if (!AppendNormalised(sb, values, FoldsCase(names[i])))
            {
                suffix = string.Empty;
                return false;
            }
        }
        suffix = sb.ToString();
        return true;
    }

    private static bool FoldsCase(string name) =>
        name.Equals(HeaderNames.AcceptLanguage, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.AcceptCharset, StringComparison.OrdinalIgnoreCase);

    private static bool AppendNormalised(StringBuilder sb, StringValues values, bool foldCase)
    {
        var first = true;
        foreach (var line in values)
        {
            foreach (var range in (line ?? string.Empty).AsSpan().Split(','))
            {
                var item = (line ?? string.Empty).AsSpan()[range].Trim();
                if (!first)
                {
                    sb.Append(',');
                }
                first = false;
                var space = false;
                foreach (var c in item)
                {
                    if ((c < ' ' && c != '\t') || c == '\x7F')
                    {
                        return false;
                    }
                    if (c is ' ' or '\t')
                    {
                        space = true;
                        continue;
                    }
                    if (space)
                    {
                        sb.Append(' ');
                        space = false;
                    }
                    sb.Append(foldCase ? char.ToLowerInvariant(c) : c);
                }
            }
        }
        return true;
    }
}
