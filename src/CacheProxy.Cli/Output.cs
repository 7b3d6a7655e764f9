using System.Text.Json;
using Spectre.Console;

namespace CacheProxy.Cli;

/// <summary>What the commands print: the gateway's JSON as it came (<c>--json</c>), or tables.</summary>
internal static class Output
{
    // For people and scripts, not for an HTML page: escaped only as JSON requires ('+' in a date stays '+', not \u002B).
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Json(JsonElement json) => Console.Out.WriteLine(JsonSerializer.Serialize(json, Indented));

    /// <summary>A two-column table of an object's properties; nested values as compact JSON.</summary>
    public static Table Properties(JsonElement json, params string[] skip)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        foreach (var property in json.EnumerateObject().Where(p => !skip.Contains(p.Name)))
        {
            table.AddRow(Markup.Escape(property.Name), Markup.Escape(Text(property.Value)));
        }
        return table;
    }

    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => "–",
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Array when value.EnumerateArray().All(v => v.ValueKind is JsonValueKind.String or JsonValueKind.Number) =>
            string.Join(", ", value.EnumerateArray().Select(Text)),
        _ => value.GetRawText(),
    };

    public static string Percent(JsonElement value) => value.ValueKind == JsonValueKind.Number ? $"{value.GetDouble() * 100:0.0} %" : "–";

    public static string Milliseconds(JsonElement value) => value.ValueKind == JsonValueKind.Number ? $"{value.GetDouble():0.##} ms" : "–";

    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes:0} B" : $"{bytes:0.0} {units[unit]}";
    }
}
