using System.Diagnostics;
using CacheProxy.Configuration;
using CacheProxy.Images;
using NetVips;

namespace CacheProxy.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release -- images DIR ROUNDS</c> (tests/load/images.sh): writes a 2 MP JPEG to DIR/source.jpg and
/// times the gateway's own variant making (<see cref="ImageTransformer"/>) of it, 800 px wide, as WebP and AVIF:
/// the median of ROUNDS, the variant's bytes, and how much the process's resident set grew. The script runs Debian's
/// vipsthumbnail on the same file in the same run.
/// </summary>
internal static class ImageComparison
{
    public static void Run(string directory, int rounds)
    {
        Directory.CreateDirectory(directory);
        var source = Source();
        File.WriteAllBytes(Path.Combine(directory, "source.jpg"), source);
        var route = new RouteImageOptions { Quality = 75 };
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var before = process.WorkingSet64;
        Console.WriteLine($"source {source.Length} bytes, 1728 x 1152");
        foreach (var (name, kind) in new[] { ("webp", ImageClass.WebP), ("avif", ImageClass.Avif) })
        {
            var asked = new ImageRequest(kind, 800, null, false, null);
            var times = new List<double>();
            var bytes = 0;
            for (var i = 0; i < rounds; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var made = ImageTransformer.Make(source, "image/jpeg", asked, route, CancellationToken.None);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                bytes = made.Body?.Length ?? throw new InvalidOperationException($"{name}: {made.Outcome} {made.Reason}");
            }
            process.Refresh();
            times.Sort();
            Console.WriteLine($"ours {name} {times[times.Count / 2]:F1} ms {bytes} bytes rss+{(process.PeakWorkingSet64 - before) / (1024 * 1024)} MiB");
        }
    }

    /// <summary>A photo-like 2 MP JPEG: smooth gradients with grain, as the demo origin's.</summary>
    private static byte[] Source()
    {
        using var x = Image.Xyz(1728, 1152);
        using var red = (x[0] * (255.0 / 1728)).Cast(Enums.BandFormat.Uchar);
        using var green = (x[1] * (255.0 / 1152)).Cast(Enums.BandFormat.Uchar);
        using var grain = Image.Gaussnoise(1728, 1152, mean: 128, sigma: 30).Cast(Enums.BandFormat.Uchar);
        using var rgb = red.Bandjoin(green, grain);
        return rgb.JpegsaveBuffer(q: 88);
    }
}
