using System.Globalization;
using System.Security;
using System.Text;
using CacheProxy.Configuration;
using CacheProxy.Simulation;

namespace CacheProxy.Cli.Commands;

/// <summary>The hit ratios of a replay as an SVG line chart: the sizes along the bottom (evenly spaced), 0–100 % up the side, one line per policy.</summary>
internal static class ReplayPlot
{
    private const int Width = 640;
    private const int Height = 400;
    private const int Left = 60;
    private const int Right = 150;
    private const int Top = 40;
    private const int Bottom = 50;

    public static string Svg(IReadOnlyList<ReplayResult> results, string title)
    {
        var sizes = results.Select(r => r.CacheSize).Distinct().Order().ToList();
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        double X(long size) => Left + (sizes.Count == 1 ? plotWidth / 2.0 : sizes.IndexOf(size) * plotWidth / (double)(sizes.Count - 1));
        double Y(double ratio) => Top + ((1 - ratio) * plotHeight);
        string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"22\" font-size=\"14\">Hit ratio by cache size: {SecurityElement.Escape(title)}</text>\n");
        for (var tick = 0; tick <= 100; tick += 20)
        {
            var y = Y(tick / 100.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{N(y)}\" x2=\"{Left + plotWidth}\" y2=\"{N(y)}\" stroke=\"#ddd\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{N(y + 4)}\" text-anchor=\"end\">{tick} %</text>\n");
        }
        foreach (var size in sizes)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(X(size))}\" y=\"{Height - Bottom + 20}\" text-anchor=\"middle\">{Output.Bytes(size)}</text>\n");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{Height - 12}\" text-anchor=\"middle\">cache size</text>\n");
        string[] colours = ["#1f77b4", "#d62728", "#2ca02c"];
        var line = 0;
        foreach (var policy in results.GroupBy(r => r.Policy))
        {
            var colour = colours[line % colours.Length];
            var points = string.Join(' ', policy.OrderBy(r => r.CacheSize).Select(r => $"{N(X(r.CacheSize))},{N(Y(r.HitRatio))}"));
            var name = policy.Key == EvictionPolicy.Lru ? "LRU" : "W-TinyLFU";
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"><title>{name}</title></polyline>\n");
            foreach (var r in policy)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{N(X(r.CacheSize))}\" cy=\"{N(Y(r.HitRatio))}\" r=\"3\" fill=\"{colour}\"><title>{name}, {Output.Bytes(r.CacheSize)}: {r.HitRatio.ToString("P2", CultureInfo.InvariantCulture)}</title></circle>\n");
            }
            var legendY = Top + 10 + (line * 20);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right + 15}\" y1=\"{legendY}\" x2=\"{Width - Right + 35}\" y2=\"{legendY}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 40}\" y=\"{legendY + 4}\">{name}</text>\n");
            line++;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
