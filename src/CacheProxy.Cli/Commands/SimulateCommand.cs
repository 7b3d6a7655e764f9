using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CacheProxy.Configuration;
using CacheProxy.Simulation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary>
/// <c>cacheproxy simulate TRACE</c>: replays an access log or trace offline through the memory tier's eviction policies
/// (<see cref="CacheReplay"/>, the classes the gateway runs) at several sizes, and prints hit ratio, byte hit ratio and
/// origin requests for each — a table, JSON, or an SVG plot. Streams the trace: memory is what the simulated caches
/// hold, not the trace's length.
/// </summary>
internal sealed class SimulateCommand : Command<SimulateCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<TRACE>")]
        [Description("The trace file (gzip is recognised), or - for standard input.")]
        public string Trace { get; init; } = string.Empty;

        [CommandOption("-f|--format <FORMAT>")]
        [Description("combined (nginx/Apache access log, optionally ending in $request_time), csv (time,key,size[[,ttl]]) or oracle (libCacheSim oracleGeneral). Default: by extension, .csv → csv, .oracleGeneral or .bin → oracle, else combined.")]
        public string? Format { get; init; }

        [CommandOption("-s|--sizes <SIZES>")]
        [Description("Cache sizes, comma-separated, in bytes or with KiB, MiB, GiB (KB, MB, GB read the same).")]
        [DefaultValue("64MiB,256MiB,1GiB")]
        public string Sizes { get; init; } = "64MiB,256MiB,1GiB";

        [CommandOption("-p|--policies <POLICIES>")]
        [Description("Policies to compare, comma-separated: tinylfu, lru.")]
        [DefaultValue("tinylfu,lru")]
        public string Policies { get; init; } = "tinylfu,lru";

        [CommandOption("--ttl <TIMESPAN>")]
        [Description("How long a stored copy stays fresh when the trace does not say (e.g. 00:10:00); a miss after that. Default: until evicted.")]
        public TimeSpan? Ttl { get; init; }

        [CommandOption("--svg <FILE>")]
        [Description("Also write the hit ratios as an SVG plot, one line per policy over the sizes.")]
        public string? Svg { get; init; }

        [CommandOption("--json")]
        [Description("Print the results as JSON instead of a table.")]
        public bool Json { get; init; }

        public override ValidationResult Validate()
        {
            if (Trace.Length == 0)
            {
                return ValidationResult.Error("give a trace file, or - for standard input");
            }
            if (Format is not null && ParseFormat(Format) is null)
            {
                return ValidationResult.Error("--format: combined, csv or oracle");
            }
            if (ParseSizes(Sizes) is null)
            {
                return ValidationResult.Error("--sizes: sizes like 64MiB,1GiB, each at least 1 byte");
            }
            if (ParsePolicies(Policies) is null)
            {
                return ValidationResult.Error("--policies: tinylfu, lru, or both comma-separated");
            }
            return Ttl is { } ttl && ttl <= TimeSpan.Zero ? ValidationResult.Error("--ttl: a positive time span") : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var format = settings.Format is { } named ? ParseFormat(named)!.Value : Guess(settings.Trace);
        Stream input;
        try
        {
            input = settings.Trace == "-" ? Console.OpenStandardInput() : File.OpenRead(settings.Trace);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"{settings.Trace}: {ex.Message}");
        }
        var sizes = ParseSizes(settings.Sizes)!;
        var replay = new CacheReplay(ParsePolicies(settings.Policies)!, sizes);
        var reader = new TraceReader(input, format);
        var clock = Stopwatch.StartNew();
        using (input)
        {
            var requests = reader.Requests();
            replay.AddRange(settings.Ttl is { } ttl ? requests.Select(r => r.TimeToLive is null ? r with { TimeToLive = ttl } : r) : requests, cancellationToken);
        }
        clock.Stop();
        var results = replay.Results;
        if (results[0].Requests == 0)
        {
            throw new CliException(ExitCodes.Failed, $"{settings.Trace}: no request to replay in {reader.Read} lines as {Name(format)}"
                + (reader.FirstMalformed is { } first ? $"; the first that did not parse: {first}" : string.Empty));
        }
        if (settings.Svg is { } svg)
        {
            File.WriteAllText(svg, ReplayPlot.Svg(results, Path.GetFileName(settings.Trace)));
        }
        if (settings.Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                trace = settings.Trace,
                format = Name(format),
                lines = reader.Read,
                skipped = reader.Skipped,
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
                results = results.Select(r => new
                {
                    policy = r.Policy.ToString(),
                    cacheSize = r.CacheSize,
                    requests = r.Requests,
                    hits = r.Hits,
                    hitRatio = Math.Round(r.HitRatio, 5),
                    byteHitRatio = Math.Round(r.ByteHitRatio, 5),
                    originRequests = r.OriginRequests,
                    originSeconds = Math.Round(r.OriginSeconds, 3),
                    rejected = r.Rejected,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }
        var withOrigin = results.Any(r => r.OriginSeconds > 0);
        var table = new Table().Border(TableBorder.Rounded).AddColumns("policy", "cache size", "hit ratio", "byte hit ratio", "origin requests");
        if (withOrigin)
        {
            table.AddColumn("origin time");
        }
        foreach (var r in results.OrderBy(r => r.CacheSize).ThenBy(r => r.Policy))
        {
            string[] row = [Name(r.Policy), Output.Bytes(r.CacheSize), r.HitRatio.ToString("P2", CultureInfo.InvariantCulture),
                r.ByteHitRatio.ToString("P2", CultureInfo.InvariantCulture), r.OriginRequests.ToString("N0", CultureInfo.InvariantCulture)];
            table.AddRow(withOrigin ? [.. row, $"{r.OriginSeconds.ToString("N0", CultureInfo.InvariantCulture)} s"] : row);
        }
        AnsiConsole.Write(table);
        var skipped = reader.Skipped == 0 ? string.Empty : $", {reader.Skipped:N0} skipped (not GET/HEAD, a status a cache does not answer, or malformed)";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{results[0].Requests:N0} requests from {reader.Read:N0} lines ({Name(format)}){skipped}; replayed in {clock.Elapsed.TotalSeconds:0.0} s"));
        if (reader.FirstMalformed is { } malformed)
        {
            AnsiConsole.MarkupLine("[yellow]" + Markup.Escape("first line that did not parse: " + malformed) + "[/]");
        }
        return ExitCodes.Ok;
    }

    private static string Name(TraceFormat format) => format switch
    {
        TraceFormat.Csv => "csv",
        TraceFormat.OracleGeneral => "oracle",
        _ => "combined",
    };

    private static string Name(EvictionPolicy policy) => policy == EvictionPolicy.Lru ? "LRU" : "W-TinyLFU";

    private static TraceFormat Guess(string path) =>
        path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase) ? TraceFormat.Csv
        : path.Contains(".oracleGeneral", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? TraceFormat.OracleGeneral
        : TraceFormat.Combined;

    internal static TraceFormat? ParseFormat(string value) => value.ToLowerInvariant() switch
    {
        "combined" => TraceFormat.Combined,
        "csv" => TraceFormat.Csv,
        "oracle" or "oraclegeneral" => TraceFormat.OracleGeneral,
        _ => null,
    };

    internal static IReadOnlyList<EvictionPolicy>? ParsePolicies(string value)
    {
        var policies = new List<EvictionPolicy>();
        foreach (var name in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (name.ToLowerInvariant())
            {
                case "tinylfu" or "w-tinylfu": policies.Add(EvictionPolicy.TinyLfu); break;
                case "lru": policies.Add(EvictionPolicy.Lru); break;
                default: return null;
            }
        }
        return policies.Count == 0 ? null : policies;
    }

    internal static IReadOnlyList<long>? ParseSizes(string value)
    {
        var sizes = new List<long>();
        foreach (var text in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var unit = text.TrimStart("0123456789.".ToCharArray());
            var number = text[..^unit.Length];
            long multiplier = unit.ToUpperInvariant() switch
            {
                "" or "B" => 1,
                "K" or "KB" or "KIB" => 1L << 10,
                "M" or "MB" or "MIB" => 1L << 20,
                "G" or "GB" or "GIB" => 1L << 30,
                "T" or "TB" or "TIB" => 1L << 40,
                _ => 0,
            };
            if (multiplier == 0 || !double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount * multiplier < 1 || amount * multiplier > long.MaxValue / 2)
            {
                return null;
            }
            sizes.Add((long)(amount * multiplier));
        }
        return sizes.Count == 0 ? null : sizes;
    }
}
