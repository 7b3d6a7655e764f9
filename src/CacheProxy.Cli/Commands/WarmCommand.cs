using System.ComponentModel;
using System.Net;
using CacheProxy.Management.Client.Models;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CacheProxy.Cli.Commands;

/// <summary>
/// <c>cacheproxy warm FILE</c>: starts a warming job (<c>POST /warm</c>) from a file of URLs, one a line (blank lines
/// and <c>#</c> comments skipped), or a sitemap.xml (sent as it is; the gateway reads its <c>&lt;loc&gt;</c>
/// elements), then follows it (<c>GET /warm</c>) with a progress bar until it ends. Ctrl+C cancels the job. Exit 0
/// when every URL was warmed, 1 when any failed or the job was cancelled.
/// </summary>
internal sealed class WarmCommand : AsyncCommand<WarmCommand.Settings>
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    internal sealed class Settings : ManagementSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("A file of absolute URLs, one a line, or a sitemap.xml; - reads standard input.")]
        public string File { get; init; } = string.Empty;

        [CommandOption("--no-wait")]
        [Description("Start the job and return; follow it with GET /warm on the management endpoint.")]
        public bool NoWait { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var urls = await ReadAsync(settings.File, cancellationToken);
        using var client = new ManagementClient(settings);
        var status = await client.CallAsync("/warm", (api, raw, token) => api.Warm.PostAsync(new WarmRequest { Urls = [.. urls] }, c => c.Options.Add(raw), token), cancellationToken,
            HttpStatusCode.Conflict);
        if (!status.TryGetProperty("state", out _)) // 409, problem+json: one job at a time
        {
            throw new CliException(ExitCodes.Failed, "a warming job is running already: wait for it, or cancel it with DELETE /warm");
        }
        if (!settings.NoWait)
        {
            try
            {
                status = await FollowAsync(client, status, settings.Json, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: cancel the job, then wait (bounded) for its requests in flight to be abandoned.
                Console.Error.WriteLine("cancelling the warming job…");
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                status = await client.CallAsync("/warm", (api, raw, token) => api.Warm.DeleteAsync(c => c.Options.Add(raw), token), stop.Token);
                while (status.GetProperty("state").GetString() == "running" && !stop.IsCancellationRequested)
                {
                    await Task.Delay(Poll, CancellationToken.None);
                    status = await client.CallAsync("/warm", (api, raw, token) => api.Warm.GetAsync(c => c.Options.Add(raw), token), stop.Token);
                }
            }
        }
        if (settings.Json)
        {
            Output.Json(status);
        }
        else
        {
            AnsiConsole.Write(Summary(status));
        }
        var state = status.GetProperty("state").GetString();
        return settings.NoWait ? ExitCodes.Ok : state == "completed" && status.GetProperty("failed").GetInt32() == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>The URLs of a file of URLs (one a line, as the gateway reads a startup file) or of a sitemap.</summary>
    private static async Task<IReadOnlyList<string>> ReadAsync(string file, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = file == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await System.IO.File.ReadAllTextAsync(file, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"cannot read {file}: {ex.Message}");
        }
        string[] urls;
        if (text.TrimStart().StartsWith('<'))
        {
            // A sitemap, read here as the gateway reads one (the gateway still checks the count and each URL).
            using var sitemap = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
            var (read, field, reason) = await CacheProxy.Warming.WarmInput.ReadSitemapAsync(sitemap, int.MaxValue);
            urls = read is null ? throw new CliException(ExitCodes.Usage, $"{file}: {field}: {reason}") : [.. read.Select(u => u.ToString())];
        }
        else
        {
            urls = [.. text.Split('\n').Select(CacheProxy.Warming.WarmInput.UrlOnLine).OfType<string>()]; // as the gateway reads a startup file
        }
        if (urls.Length == 0)
        {
            throw new CliException(ExitCodes.Usage, $"{file} names no URL: give one absolute URL a line, or a sitemap.xml");
        }
        return urls;
    }

    private static async Task<JsonElement> FollowAsync(ManagementClient client, JsonElement status, bool quiet, CancellationToken cancellationToken)
    {
        async Task<JsonElement> NextAsync()
        {
            await Task.Delay(Poll, cancellationToken);
            return await client.CallAsync("/warm", (api, raw, token) => api.Warm.GetAsync(c => c.Options.Add(raw), token), cancellationToken);
        }
        if (quiet || !AnsiConsole.Profile.Capabilities.Interactive || AnsiConsole.Profile.Width < MinimumLiveWidth)
        {
            // Not a terminal (a script, a CI log) or one too narrow for a bar: a line when the count moves, no animation.
            var printed = -1;
            while (status.GetProperty("state").GetString() == "running")
            {
                if (!quiet && status.GetProperty("done").GetInt32() is var done && done != printed)
                {
                    Console.Out.WriteLine(Describe(status));
                    printed = done;
                }
                status = await NextAsync();
            }
            if (!quiet && status.GetProperty("done").GetInt32() != printed)
            {
                Console.Out.WriteLine(Describe(status));
            }
            return status;
        }
        // One line, redrawn in place (as curl and wget do): it never wraps, so it never scrolls the terminal.
        while (true)
        {
            Console.Out.Write("\r" + ProgressLine(status, AnsiConsole.Profile.Width));
            if (status.GetProperty("state").GetString() != "running")
            {
                Console.Out.WriteLine();
                return status;
            }
            status = await NextAsync();
        }
    }

    /// <summary>Narrower than this, a bar and the counts do not fit one line: lines instead.</summary>
    internal const int MinimumLiveWidth = 60;

    /// <summary>
    /// The live line for a terminal <paramref name="width"/> columns wide, never longer than width - 1 (a full last column
    /// wraps on some terminals): a bar, done/count, the outcomes, one estimate of the time left; padded, so a shorter
    /// line overwrites a longer one.
    /// </summary>
    internal static string ProgressLine(JsonElement status, int width)
    {
        int Get(string name) => status.GetProperty(name).GetInt32();
        var (done, count) = (Get("done"), Math.Max(Get("count"), 1));
        var counts = $" {done}/{count}";
        var eta = status.GetProperty("secondsLeft") is { ValueKind: JsonValueKind.Number } left ? $" ETA {Duration(left.GetInt64())}" : string.Empty;
        var outcomes = $" {Get("stored")} stored, {Get("cached")} cached, {Get("notStored")} not storable, {Get("failed")} failed";
        const int MinimumBar = 10;
        var room = width - 1 - counts.Length - eta.Length - 2;
        if (room - outcomes.Length < MinimumBar)
        {
            outcomes = $" {Get("stored")}+{Get("cached")}+{Get("notStored")} ok, {Get("failed")} failed"; // stored+cached+not storable
        }
        var bar = Math.Clamp(room - outcomes.Length, 0, 40);
        var filled = (int)Math.Round(bar * Math.Min(done, count) / (double)count);
        var line = $"[{new string('#', filled)}{new string('.', bar - filled)}]{counts}{outcomes}{eta}";
        return line.Length > width - 1 ? line[..(width - 1)] : line.PadRight(width - 1);
    }

    private static string Duration(long seconds) =>
        seconds < 60 ? $"{seconds}s" : seconds < 3600 ? $"{seconds / 60}m{seconds % 60:00}s" : $"{seconds / 3600}h{seconds / 60 % 60:00}m";

    private static string Describe(JsonElement status) =>
        $"{status.GetProperty("done").GetInt32()}/{status.GetProperty("count").GetInt32()} warmed: {status.GetProperty("stored").GetInt32()} stored, " +
        $"{status.GetProperty("cached").GetInt32()} already cached, {status.GetProperty("notStored").GetInt32()} not storable, {status.GetProperty("failed").GetInt32()} failed" +
        (status.GetProperty("secondsLeft") is { ValueKind: JsonValueKind.Number } left ? $", about {left.GetInt64()} s left" : string.Empty);

    private static Table Summary(JsonElement status) => new Table().Border(TableBorder.Rounded)
        .AddColumns("state", "urls", "stored", "already cached", "not storable", "failed")
        .AddRow(Markup.Escape(status.GetProperty("state").GetString() ?? string.Empty), Output.Text(status.GetProperty("count")), Output.Text(status.GetProperty("stored")),
            Output.Text(status.GetProperty("cached")), Output.Text(status.GetProperty("notStored")), Output.Text(status.GetProperty("failed")));
}
