using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace CacheProxy.Simulation;

/// <summary>
/// Reads a trace as <see cref="TraceRequest"/>s, streaming (one line or record at a time: any length in bounded
/// memory). Lines that do not parse, and requests a shared cache would not answer (other methods, 5xx and other
/// statuses in an access log), are skipped and counted.
/// </summary>
public sealed class TraceReader
{
    private readonly Stream _stream;
    private readonly TraceFormat _format;

    /// <param name="stream">The trace; read once, from where it stands. A gzip stream is recognised by its magic bytes and decompressed.</param>
    /// <param name="format">Its format.</param>
    public TraceReader(Stream stream, TraceFormat format)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _format = format;
    }

    /// <summary>Lines or records read so far.</summary>
    public long Read { get; private set; }

    /// <summary>Of those, skipped: malformed, or not a request a shared cache answers.</summary>
    public long Skipped { get; private set; }

    /// <summary>The first malformed line or record, for a message (null when none was).</summary>
    public string? FirstMalformed { get; private set; }

    /// <summary>The requests, in the trace's order.</summary>
    public IEnumerable<TraceRequest> Requests()
    {
        var stream = Decompressed(_stream);
        return _format switch
        {
            TraceFormat.OracleGeneral => Records(stream),
            TraceFormat.Csv => Lines(stream, ParseCsv),
            _ => Lines(stream, ParseCombined),
        };
    }

    private static Stream Decompressed(Stream stream)
    {
        var buffered = new BufferedStream(stream, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        if (buffered.CanSeek)
        {
            var read = buffered.Read(magic);
            buffered.Seek(-read, SeekOrigin.Current);
            if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                return new BufferedStream(new GZipStream(buffered, CompressionMode.Decompress), 1 << 16);
            }
        }
        return buffered;
    }

    private delegate bool LineParser(string line, out TraceRequest request, out bool malformed);

    private IEnumerable<TraceRequest> Lines(Stream stream, LineParser parse)
    {
        using var reader = new StreamReader(stream, leaveOpen: true);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            Read++;
            if (parse(line, out var request, out var malformed))
            {
                yield return request;
                continue;
            }
            Skipped++;
            if (malformed && FirstMalformed is null)
            {
                FirstMalformed = $"line {Read}: {(line.Length > 200 ? line[..200] + "…" : line)}";
            }
        }
    }

    private IEnumerable<TraceRequest> Records(Stream stream)
    {
        const int RecordSize = 24;
        var buffer = new byte[RecordSize * 4096];
        var held = 0;
        while (true)
        {
            var read = stream.Read(buffer, held, buffer.Length - held);
            if (read == 0)
            {
                if (held > 0)
                {
                    Read++;
                    Skipped++;
                    FirstMalformed ??= $"record {Read}: {held} bytes at the end, a record has {RecordSize}";
                }
                yield break;
            }
            held += read;
            var whole = held / RecordSize * RecordSize;
            for (var offset = 0; offset < whole; offset += RecordSize)
            {
                Read++;
                var time = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
                var id = BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset + 4));
                var size = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset + 12));
                yield return new TraceRequest(time, id, size);
            }
            held -= whole;
            Buffer.BlockCopy(buffer, whole, buffer, 0, held);
        }
    }

    /// <summary>The key of a request target or any text: its 64-bit XXH3 hash.</summary>
    public static ulong KeyOf(ReadOnlySpan<char> text) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text));

    // time,key,size[,ttl]
    private static bool ParseCsv(string line, out TraceRequest request, out bool malformed)
    {
        request = default;
        malformed = true;
        var span = line.AsSpan();
        Span<Range> fields = stackalloc Range[5];
        var count = span.Split(fields, ',');
        if (count is < 3 or > 4
            || !double.TryParse(span[fields[0]], NumberStyles.Float, CultureInfo.InvariantCulture, out var time)
            || !long.TryParse(span[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            malformed = !line.StartsWith("time,", StringComparison.OrdinalIgnoreCase); // the header
            return false;
        }
        TimeSpan? ttl = null;
        if (count == 4 && span[fields[3]].Trim().Length > 0)
        {
            if (!double.TryParse(span[fields[3]], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
            {
                return false;
            }
            ttl = TimeSpan.FromSeconds(seconds);
        }
        request = new TraceRequest(time, KeyOf(span[fields[1]].Trim()), size, ttl);
        return true;
    }

    // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" [$request_time]
    private static bool ParseCombined(string line, out TraceRequest request, out bool malformed)
    {
        request = default;
        malformed = true;
        var span = line.AsSpan();
        var open = span.IndexOf('[');
        var close = open < 0 ? -1 : span[open..].IndexOf(']');
        if (close < 0
            || !DateTimeOffset.TryParseExact(span.Slice(open + 1, close - 1), "dd/MMM/yyyy:HH:mm:ss zzz", CultureInfo.InvariantCulture,
                DateTimeStyles.None, out var at))
        {
            return false;
        }
        var rest = span[(open + close + 1)..].TrimStart();
        if (rest.Length == 0 || rest[0] != '"')
        {
            return false;
        }
        var end = rest[1..].IndexOf('"');
        if (end < 0)
        {
            return false;
        }
        var requestLine = rest.Slice(1, end);
        rest = rest[(end + 2)..].TrimStart();
        var space = rest.IndexOf(' ');
        if (space < 0 || !int.TryParse(rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            return false;
        }
        rest = rest[(space + 1)..].TrimStart();
        space = rest.IndexOf(' ');
        var bytesField = space < 0 ? rest : rest[..space];
        long bytes = 0;
        if (!bytesField.SequenceEqual("-") && !long.TryParse(bytesField, NumberStyles.None, CultureInfo.InvariantCulture, out bytes))
        {
            return false;
        }
        // "$request": METHOD TARGET PROTOCOL
        var methodEnd = requestLine.IndexOf(' ');
        if (methodEnd < 0)
        {
            return false;
        }
        var method = requestLine[..methodEnd];
        var target = requestLine[(methodEnd + 1)..];
        var targetEnd = target.LastIndexOf(' ');
        if (targetEnd > 0)
        {
            target = target[..targetEnd];
        }
        malformed = false;
        if (!(method.SequenceEqual("GET") || method.SequenceEqual("HEAD")) || !Answerable(status))
        {
            return false;
        }
        request = new TraceRequest(at.ToUnixTimeMilliseconds() / 1000.0, KeyOf(target), bytes, null, RequestTime(rest, space));
        return true;
    }

    // 200, 203, 204, 206, 3xx and 404, 410: what a shared cache may answer (RFC 9110 §15.1 heuristically cacheable, and redirects).
    private static bool Answerable(int status) => status is 200 or 203 or 204 or 206 or >= 300 and < 400 or 404 or 410;

    // The last field, when it is a number after the quoted user agent: $request_time.
    private static double RequestTime(ReadOnlySpan<char> rest, int space)
    {
        if (space < 0)
        {
            return 0;
        }
        var last = rest.TrimEnd();
        var start = last.LastIndexOf(' ');
        return start >= 0 && last[start + 1] != '"' && double.TryParse(last[(start + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : 0;
    }
}
