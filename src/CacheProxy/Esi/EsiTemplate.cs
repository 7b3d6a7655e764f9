using System.Text;

namespace CacheProxy.Esi;

/// <summary>
/// A page's body parsed once for ESI (the ESI Language Specification 1.0, W3C note of 2001): literal chunks — slices
/// of the stored body, never copied — and instructions. Kept beside the stored entry (<see cref="Caching.StoredPolicy"/>),
/// so a hit never parses again. What the parser does not understand stays literal text and is counted in
/// <see cref="Errors"/> (logged once, when parsed).
/// </summary>
internal sealed class EsiTemplate
{
    /// <summary>Nesting of instructions deeper than this is left as literal text: a bound on the parser's recursion.</summary>
    internal const int MaxNesting = 32;

    private EsiTemplate(EsiNode[] nodes, IReadOnlyList<string> errors, int includes, EsiReads reads)
    {
        Nodes = nodes;
        Errors = errors;
        Includes = includes;
        Reads = reads;
    }

    public EsiNode[] Nodes { get; }

    /// <summary>What was malformed or unknown, with its byte offset.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>The include instructions in the page, in every branch.</summary>
    public int Includes { get; }

    /// <summary>The request fields the page's variables read (for the assembled response's Vary).</summary>
    public EsiReads Reads { get; }

    /// <summary>Parses <paramref name="body"/> (UTF-8, or any ASCII-compatible encoding).</summary>
    public static EsiTemplate Parse(ReadOnlyMemory<byte> body)
    {
        var parser = new Parser(body);
        var nodes = parser.ParseNodes(0, body.Length, until: null, inVars: false, nesting: 0, out _);
        return new EsiTemplate(nodes, parser.Errors, parser.Includes, parser.Reads);
    }

    private sealed class Parser(ReadOnlyMemory<byte> body)
    {
        public List<string> Errors { get; } = [];

        public int Includes { get; private set; }

        public EsiReads Reads { get; private set; }

        /// <summary>
        /// The nodes in [<paramref name="start"/>, <paramref name="end"/>) up to the end tag <c>&lt;/esi:until&gt;</c>;
        /// <paramref name="next"/> is where parsing goes on after it (or <paramref name="end"/>).
        /// </summary>
        public EsiNode[] ParseNodes(int start, int end, string? until, bool inVars, int nesting, out int next)
        {
            var nodes = new List<EsiNode>();
            var span = body.Span;
            var literalStart = start;
            var pos = start;
            while (pos < end)
            {
                var lt = span[pos..end].IndexOf((byte)'<');
                if (lt < 0)
                {
                    break;
                }
                var at = pos + lt;
                if (StartsWith(span, at, end, "<!--esi"))
                {
                    var close = IndexOf(span, at + 7, end, "-->");
                    if (close < 0 || nesting >= MaxNesting)
                    {
                        Error(at, "<!--esi without -->");
                        pos = at + 7;
                        continue;
                    }
                    AddLiteral(nodes, literalStart, at, inVars);
                    nodes.AddRange(ParseNodes(at + 7, close, until: null, inVars, nesting + 1, out _)); // its content is processed as ESI; the markers go
                    pos = literalStart = close + 3;
                    continue;
                }
                if (StartsWith(span, at, end, "</esi:"))
                {
                    var gt = span[at..end].IndexOf((byte)'>');
                    var name = gt < 0 ? string.Empty : Encoding.UTF8.GetString(span[(at + 6)..(at + gt)]).Trim();
                    if (until is not null && name == until)
                    {
                        AddLiteral(nodes, literalStart, at, inVars);
                        next = at + gt + 1;
                        return [.. nodes];
                    }
                    Error(at, $"</esi:{name}> without its start tag");
                    pos = at + 6;
                    continue;
                }
                if (!StartsWith(span, at, end, "<esi:"))
                {
                    pos = at + 1;
                    continue;
                }
                if (!TryReadTag(span, at, end, out var tag))
                {
                    Error(at, "an <esi: tag without its end (>)");
                    pos = at + 5;
                    continue;
                }
                if (nesting >= MaxNesting)
                {
                    Error(at, $"instructions nested deeper than {MaxNesting}");
                    pos = tag.End;
                    continue;
                }
                var before = at;
                EsiNode? node = null;
                var after = tag.End;
                switch (tag.Name)
                {
                    case "include" when tag.Attribute("src") is { } src:
                        Includes++;
                        node = new EsiInclude(Text(src), tag.Attribute("alt") is { } alt ? Text(alt) : null,
                            string.Equals(tag.Attribute("onerror"), "continue", StringComparison.Ordinal));
                        if (!tag.SelfClosing)
                        {
                            after = SkipEndTag(span, after, end, "include");
                        }
                        break;
                    case "comment" when tag.SelfClosing:
                        node = EsiNothing.Instance;
                        break;
                    case "remove" when !tag.SelfClosing:
                        var removeEnd = IndexOf(span, after, end, "</esi:remove>");
                        if (removeEnd >= 0)
                        {
                            node = EsiNothing.Instance;
                            after = removeEnd + "</esi:remove>".Length;
                        }
                        break;
                    case "vars" when !tag.SelfClosing:
                        var varsBody = ParseNodes(after, end, "vars", inVars: true, nesting + 1, out var varsNext);
                        if (varsNext <= end && varsNext > after)
                        {
                            node = new EsiBlock(varsBody);
                            after = varsNext;
                        }
                        break;
                    case "choose" when !tag.SelfClosing:
                        node = ParseChoose(span, ref after, end, inVars, nesting + 1);
                        break;
                }
                if (node is null)
                {
                    Error(at, $"<esi:{tag.Name}> is not an instruction this processor knows, or is malformed");
                    pos = tag.End;
                    continue;
                }
                AddLiteral(nodes, literalStart, before, inVars);
                if (node is not EsiNothing)
                {
                    nodes.Add(node);
                }
                pos = literalStart = after;
            }
            if (until is not null)
            {
                Error(start, $"<esi:{until}> without </esi:{until}>");
                next = -1; // the caller leaves the start tag as literal text
                return [];
            }
            AddLiteral(nodes, literalStart, end, inVars);
            next = end;
            return [.. nodes];
        }

        /// <summary>The body of &lt;esi:choose&gt;: its &lt;esi:when test&gt; branches and &lt;esi:otherwise&gt;; null when malformed.</summary>
        private EsiChoose? ParseChoose(ReadOnlySpan<byte> span, ref int pos, int end, bool inVars, int nesting)
        {
            var whens = new List<(EsiExpression Test, EsiNode[] Body)>();
            EsiNode[]? otherwise = null;
            while (true)
            {
                var lt = span[pos..end].IndexOf((byte)'<');
                if (lt < 0)
                {
                    return null;
                }
                var at = pos + lt;
                if (StartsWith(span, at, end, "</esi:choose>"))
                {
                    pos = at + "</esi:choose>".Length;
                    return new EsiChoose([.. whens], otherwise);
                }
                if (!TryReadTag(span, at, end, out var tag) || tag.SelfClosing || tag.Name is not ("when" or "otherwise"))
                {
                    return null; // only when and otherwise (and text between them, which is dropped) belong in a choose
                }
                var branch = ParseNodes(tag.End, end, tag.Name, inVars, nesting + 1, out var next);
                if (next < 0)
                {
                    return null;
                }
                if (tag.Name == "when")
                {
                    var test = EsiExpression.Parse(tag.Attribute("test") ?? string.Empty, out var error);
                    if (error is not null)
                    {
                        Error(at, $"esi:when test: {error}");
                    }
                    Reads |= test.Reads;
                    whens.Add((test, branch));
                }
                else
                {
                    otherwise ??= branch;
                }
                pos = next;
            }
        }

        private EsiText Text(string value)
        {
            var text = EsiText.Parse(value);
            Reads |= text.Reads;
            return text;
        }

        private void AddLiteral(List<EsiNode> nodes, int start, int end, bool inVars)
        {
            if (end <= start)
            {
                return;
            }
            if (inVars)
            {
                nodes.Add(new EsiVarsText(Text(Encoding.UTF8.GetString(body.Span[start..end]))));
            }
            else
            {
                nodes.Add(new EsiLiteral(body[start..end]));
            }
        }

        private void Error(int offset, string what)
        {
            if (Errors.Count < 20)
            {
                Errors.Add($"{what} at byte {offset}");
            }
        }
    }

    private static int SkipEndTag(ReadOnlySpan<byte> span, int pos, int end, string name)
    {
        var i = pos;
        while (i < end && span[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }
        var endTag = $"</esi:{name}>";
        return StartsWith(span, i, end, endTag) ? i + endTag.Length : pos;
    }

    private static bool StartsWith(ReadOnlySpan<byte> span, int at, int end, string ascii)
    {
        if (end - at < ascii.Length)
        {
            return false;
        }
        for (var i = 0; i < ascii.Length; i++)
        {
            if (span[at + i] != ascii[i])
            {
                return false;
            }
        }
        return true;
    }

    private static int IndexOf(ReadOnlySpan<byte> span, int from, int end, string ascii)
    {
        if (from >= end)
        {
            return -1;
        }
        var found = span[from..end].IndexOf(Encoding.ASCII.GetBytes(ascii));
        return found < 0 ? -1 : from + found;
    }

    /// <summary>An &lt;esi:name attr="…" …&gt; or …/&gt; at <paramref name="at"/>.</summary>
    private static bool TryReadTag(ReadOnlySpan<byte> span, int at, int end, out Tag tag)
    {
        tag = default;
        var i = at + 5;
        var nameStart = i;
        while (i < end && (char.IsAsciiLetterOrDigit((char)span[i]) || span[i] == '-'))
        {
            i++;
        }
        var name = Encoding.ASCII.GetString(span[nameStart..i]);
        var attributes = new List<KeyValuePair<string, string>>();
        while (i < end)
        {
            var c = span[i];
            if (c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                i++;
                continue;
            }
            if (c == '>')
            {
                tag = new Tag(name, attributes, SelfClosing: false, End: i + 1);
                return true;
            }
            if (c == '/' && i + 1 < end && span[i + 1] == '>')
            {
                tag = new Tag(name, attributes, SelfClosing: true, End: i + 2);
                return true;
            }
            var attributeStart = i;
            while (i < end && (char.IsAsciiLetterOrDigit((char)span[i]) || span[i] is (byte)'-' or (byte)'_'))
            {
                i++;
            }
            if (i == attributeStart || i + 1 >= end || span[i] != '=' || span[i + 1] is not ((byte)'"' or (byte)'\''))
            {
                return false;
            }
            var attributeName = Encoding.ASCII.GetString(span[attributeStart..i]);
            var quote = span[i + 1];
            var valueStart = i + 2;
            var close = span[valueStart..end].IndexOf(quote);
            if (close < 0)
            {
                return false;
            }
            attributes.Add(new(attributeName, System.Net.WebUtility.HtmlDecode(Encoding.UTF8.GetString(span.Slice(valueStart, close)))));
            i = valueStart + close + 1;
        }
        return false;
    }

    private readonly record struct Tag(string Name, List<KeyValuePair<string, string>> Attributes, bool SelfClosing, int End)
    {
        public string? Attribute(string name)
        {
            foreach (var (key, value) in Attributes)
            {
                if (key == name)
                {
                    return value;
                }
            }
            return null;
        }
    }
}

/// <summary>A piece of a parsed page.</summary>
internal abstract class EsiNode;

/// <summary>Bytes of the page sent as they are.</summary>
internal sealed class EsiLiteral(ReadOnlyMemory<byte> bytes) : EsiNode
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;
}

/// <summary>Text inside &lt;esi:vars&gt;: its variables replaced, each value escaped for HTML.</summary>
internal sealed class EsiVarsText(EsiText text) : EsiNode
{
    public EsiText Text { get; } = text;
}

/// <summary>&lt;esi:include src alt onerror&gt;.</summary>
internal sealed class EsiInclude(EsiText src, EsiText? alt, bool continueOnError) : EsiNode
{
    public EsiText Src { get; } = src;

    public EsiText? Alt { get; } = alt;

    public bool ContinueOnError { get; } = continueOnError;
}

/// <summary>The content of &lt;esi:vars&gt;.</summary>
internal sealed class EsiBlock(EsiNode[] nodes) : EsiNode
{
    public EsiNode[] Nodes { get; } = nodes;
}

/// <summary>&lt;esi:choose&gt;: the first &lt;esi:when&gt; whose test holds, else &lt;esi:otherwise&gt;.</summary>
internal sealed class EsiChoose((EsiExpression Test, EsiNode[] Body)[] whens, EsiNode[]? otherwise) : EsiNode
{
    public (EsiExpression Test, EsiNode[] Body)[] Whens { get; } = whens;

    public EsiNode[]? Otherwise { get; } = otherwise;
}

/// <summary>An instruction that leaves nothing (comment, remove): never kept in a template.</summary>
internal sealed class EsiNothing : EsiNode
{
    public static readonly EsiNothing Instance = new();
}
