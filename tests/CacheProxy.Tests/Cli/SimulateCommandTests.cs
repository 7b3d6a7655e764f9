using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CacheProxy.Configuration;
using CacheProxy.Simulation;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Cli;

/// <summary><c>cacheproxy simulate</c> on a generated access log: what it prints is what the library's replay gives (docs/operations/cli.md).</summary>
public sealed class SimulateCommandTests
{
    // A combined log with $request_time: Zipf-like requests over 2,000 URLs of 10 KiB with scans of new URLs mixed in,
    // a POST and a 503 now and then (skipped), and one junk line.
    private static string AccessLog()
    {
        var random = new Random(7);
        var log = new StringBuilder();
        var at = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 20_000; i++)
        {
            var path = i % 5 == 0 ? $"/scan/{i}" : $"/item/{(int)Math.Pow(2000, random.NextDouble())}";
            var (method, status) = i % 97 == 0 ? ("POST", 200) : i % 101 == 0 ? ("GET", 503) : ("GET", 200);
            log.Append(CultureInfo.InvariantCulture,
                $"10.0.0.{i % 250} - - [{at.AddSeconds(i / 10):dd/MMM/yyyy:HH:mm:ss} +0000] \"{method} {path} HTTP/1.1\" {status} 10240 \"-\" \"curl/8.0\" 0.050\n");
        }
        log.Append("not a log line\n");
        return log.ToString();
    }

    [Fact]
    public async Task Simulate_PrintsWhatTheReplayGives_AsATableJsonAndAnSvgPlot()
    {
        var text = AccessLog();
        using var log = await TempFile.WriteAsync(text);
        using var svg = await TempFile.WriteAsync(string.Empty);

        var table = await CliProcess.RunAsync(null, "simulate", log.Path, "--sizes", "1MiB,4MiB", "--svg", svg.Path);
        var json = await CliProcess.RunAsync(null, "simulate", log.Path, "--sizes", "1MiB,4MiB", "--json");

        var expected = new CacheReplay([EvictionPolicy.TinyLfu, EvictionPolicy.Lru], [1L << 20, 4L << 20]);
        var reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), TraceFormat.Combined);
        expected.AddRange(reader.Requests());
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("W-TinyLFU", table.Output, StringComparison.Ordinal);
        Assert.Contains("origin time", table.Output, StringComparison.Ordinal);
        foreach (var r in expected.Results)
        {
            Assert.Contains(r.HitRatio.ToString("P2", CultureInfo.InvariantCulture), table.Output, StringComparison.Ordinal);
        }
        Assert.Contains($"{expected.Results[0].Requests:N0} requests from 20,001 lines", table.Output, StringComparison.Ordinal);
        Assert.Contains("first line that did not parse: line 20001: not a log line", table.Output, StringComparison.Ordinal);

        Assert.Equal(0, json.ExitCode);
        var report = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal(reader.Skipped, report.GetProperty("skipped").GetInt64());
        var results = report.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, results.Count);
        foreach (var r in expected.Results)
        {
            var printed = results.Single(p => p.GetProperty("policy").GetString() == r.Policy.ToString() && p.GetProperty("cacheSize").GetInt64() == r.CacheSize);
            Assert.Equal(r.Hits, printed.GetProperty("hits").GetInt64());
            Assert.Equal(r.OriginRequests, printed.GetProperty("originRequests").GetInt64());
        }
        var tinyLfu = expected.Results.Single(r => r.Policy == EvictionPolicy.TinyLfu && r.CacheSize == 1L << 20);
        var lru = expected.Results.Single(r => r.Policy == EvictionPolicy.Lru && r.CacheSize == 1L << 20);
        Assert.True(tinyLfu.HitRatio > lru.HitRatio, $"{tinyLfu.HitRatio} <= {lru.HitRatio}"); // the scans are what W-TinyLFU keeps out

        var plot = XDocument.Load(svg.Path);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, plot.Descendants(ns + "polyline").Count());
        Assert.Equal(4, plot.Descendants(ns + "circle").Count());
    }

    [Fact]
    public async Task Simulate_RefusesWhatItCannotReplay_InOneLine()
    {
        using var empty = await TempFile.WriteAsync("nothing here\n");

        var missing = await CliProcess.RunAsync(null, "simulate", "/no/such/access.log");
        var badSizes = await CliProcess.RunAsync(null, "simulate", empty.Path, "--sizes", "lots");
        var badPolicy = await CliProcess.RunAsync(null, "simulate", empty.Path, "--policies", "fifo");
        var nothing = await CliProcess.RunAsync(null, "simulate", empty.Path);

        Assert.Equal((2, true), (missing.ExitCode, missing.Error.Contains("/no/such/access.log", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badSizes.ExitCode, badSizes.Error.Contains("--sizes", StringComparison.Ordinal)));
        Assert.Equal((2, true), (badPolicy.ExitCode, badPolicy.Error.Contains("--policies", StringComparison.Ordinal)));
        Assert.Equal((1, true), (nothing.ExitCode, nothing.Error.Contains("no request to replay", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", missing.Error + badSizes.Error + nothing.Error, StringComparison.Ordinal);
    }
}
