using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Esi;

/// <summary>
/// The test of an &lt;esi:when&gt; (ESI 1.0 §3.3): operands are variables, quoted strings and numbers; comparisons
/// <c>== != &lt; &gt; &lt;= &gt;=</c> (numeric when both sides are numbers, else ordinal on the text); <c>!</c>, <c>&amp;</c>
/// (or <c>&amp;&amp;</c>), <c>|</c> (or <c>||</c>) and parentheses. A lone operand holds when it is neither empty nor
/// <c>false</c>. Parsed once into a tree: a variable's value is only ever a value, never more of the expression (unlike
/// processors that substitute the text and then parse it). A test that does not parse never holds.
/// </summary>
internal abstract class EsiExpression
{
    private static readonly EsiExpression Never = new Constant(string.Empty);

    public EsiReads Reads { get; private init; }

    public abstract string Value(HttpRequest request, string[] cookies);

    public virtual bool Holds(HttpRequest request, string[] cookies)
    {
        var value = Value(request, cookies);
        return value.Length > 0 && !value.Equals("false", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parses <paramref name="text"/>; a test that does not parse gives an expression that never holds and <paramref name="error"/>.</summary>
    public static EsiExpression Parse(string text, out string? error)
    {
        var parser = new Parser(text);
        try
        {
            var expression = parser.Or(0);
            parser.SkipSpace();
            if (parser.Position != text.Length)
            {
                error = $"unexpected '{text[parser.Position..]}' in '{text}'";
                return Never;
            }
            error = null;
            return expression;
        }
        catch (FormatException ex)
        {
            error = $"{ex.Message} in '{text}'";
            return Never;
        }
    }

    private sealed class Parser(string text)
    {
        private const int MaxNesting = 32;

        public int Position { get; private set; }

        public void SkipSpace()
        {
            while (Position < text.Length && char.IsWhiteSpace(text[Position]))
            {
                Position++;
            }
        }

        private bool Take(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, Position, token, 0, token.Length) == 0)
            {
                Position += token.Length;
                return true;
            }
            return false;
        }

        public EsiExpression Or(int nesting) => Chain(nesting, And, "||", "|", and: false);

        private EsiExpression And(int nesting) => Chain(nesting, Unary, "&&", "&", and: true);

        /// <summary>Operands joined by one logical operator, written doubled or single, left to right.</summary>
        private EsiExpression Chain(int nesting, Func<int, EsiExpression> operand, string doubled, string single, bool and)
        {
            var left = operand(nesting);
            while (Take(doubled) || Take(single))
            {
                var right = operand(nesting);
                left = new Logical(left, right, and) { Reads = left.Reads | right.Reads };
            }
            return left;
        }

        private EsiExpression Unary(int nesting)
        {
            if (nesting > MaxNesting)
            {
                throw new FormatException($"nested deeper than {MaxNesting}");
            }
            SkipSpace();
            if (Position < text.Length && text[Position] == '!' && (Position + 1 >= text.Length || text[Position + 1] != '='))
            {
                Position++;
                var operand = Unary(nesting + 1);
                return new Not(operand) { Reads = operand.Reads };
            }
            return Comparison(nesting);
        }

        private EsiExpression Comparison(int nesting)
        {
            var left = Primary(nesting);
            foreach (var op in (ReadOnlySpan<string>)["==", "!=", "<=", ">=", "<", ">"])
            {
                if (Take(op))
                {
                    var right = Primary(nesting);
                    return new Compare(left, right, op) { Reads = left.Reads | right.Reads };
                }
            }
            return left;
        }

        private EsiExpression Primary(int nesting)
        {
            SkipSpace();
            if (Position >= text.Length)
            {
                throw new FormatException("an operand is missing");
            }
            var c = text[Position];
            if (c == '(')
            {
                Position++;
                var inner = Or(nesting + 1);
                if (!Take(")"))
                {
                    throw new FormatException("a ')' is missing");
                }
                return inner;
            }
            if (c == '\'')
            {
                var close = text.IndexOf('\'', Position + 1);
                if (close < 0)
                {
                    throw new FormatException("a string without its closing quote");
                }
                var value = text[(Position + 1)..close];
                Position = close + 1;
                return new Constant(value);
            }
            if (c == '$' && EsiText.TryParseVariable(text, Position, out var variable, out var next))
            {
                Position = next;
                return new Variable(variable) { Reads = variable.Reads };
            }
            var start = Position;
            while (Position < text.Length && (char.IsAsciiDigit(text[Position]) || text[Position] is '.' or '-'))
            {
                Position++;
            }
            if (Position > start && double.TryParse(text.AsSpan(start, Position - start), NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return new Constant(text[start..Position]);
            }
            throw new FormatException($"'{text[start..]}' is not an operand");
        }
    }

    private sealed class Constant(string value) : EsiExpression
    {
        public override string Value(HttpRequest request, string[] cookies) => value;
    }

    private sealed class Variable(EsiVariable variable) : EsiExpression
    {
        public override string Value(HttpRequest request, string[] cookies) => variable.Evaluate(request, cookies);
    }

    private sealed class Not(EsiExpression operand) : EsiExpression
    {
        public override string Value(HttpRequest request, string[] cookies) => Holds(request, cookies) ? "true" : "false";

        public override bool Holds(HttpRequest request, string[] cookies) => !operand.Holds(request, cookies);
    }

    private sealed class Logical(EsiExpression left, EsiExpression right, bool and) : EsiExpression
    {
        public override string Value(HttpRequest request, string[] cookies) => Holds(request, cookies) ? "true" : "false";

        public override bool Holds(HttpRequest request, string[] cookies) =>
            and ? left.Holds(request, cookies) && right.Holds(request, cookies) : left.Holds(request, cookies) || right.Holds(request, cookies);
    }

    private sealed class Compare(EsiExpression left, EsiExpression right, string op) : EsiExpression
    {
        public override string Value(HttpRequest request, string[] cookies) => Holds(request, cookies) ? "true" : "false";

        public override bool Holds(HttpRequest request, string[] cookies)
        {
            var a = left.Value(request, cookies);
            var b = right.Value(request, cookies);
            var order = double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
                && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y)
                    ? x.CompareTo(y) : string.CompareOrdinal(a, b);
            return op switch
            {
                "==" => order == 0,
                "!=" => order != 0,
                "<" => order < 0,
                ">" => order > 0,
                "<=" => order <= 0,
                _ => order >= 0,
            };
        }
    }
}
