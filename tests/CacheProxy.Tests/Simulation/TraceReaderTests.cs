using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using CacheProxy.Configuration;
using CacheProxy.Simulation;

namespace CacheProxy.Tests.Simulation;

public sealed class TraceReaderTests
{
    private static List<TraceRequest> Read(string text, TraceFormat format, out TraceReader reader)
    {
        reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), format);
        return [.. reader.Requests()];
    }

    [Fact]
    public void ACombinedLog_GivesGetAndHeadRequestsACacheAnswers_KeyedByTarget_WithSizeAndRequestTime()
    {
        const string log = """
            10.0.0.1 - - [06/Dec/2026:10:00:00 +0000] "GET /a?x=1 HTTP/1.1" 200 5120 "-" "curl/8.0" 0.120
            10.0.0.2 - bob [06/Dec/2026:10:00:01 +0000] "HEAD /a?x=1 HTTP/1.1" 200 5120 "https://example.com/" "Mozilla/5.0 (X11; Linux)"
            10.0.0.3 - - [06/Dec/2026:10:00:02 +0100] "POST /form HTTP/1.1" 200 10 "-" "curl/8.0"
            10.0.0.4 - - [06/Dec/2026:10:00:03 +0000] "GET /b HTTP/2.0" 503 0 "-" "curl/8.0"
            10.0.0.5 - - [06/Dec/2026:10:00:04 +0000] "GET /missing HTTP/1.1" 404 - "-" "curl/8.0"
            this line is not a log line
            """;
        var requests = Read(log, TraceFormat.Combined, out var reader);

        Assert.Equal(3, requests.Count);
        Assert.Equal(requests[0].Key, requests[1].Key); // GET and HEAD share a key, as in the cache
        Assert.Equal(TraceReader.KeyOf("/a?x=1"), requests[0].Key);
        Assert.Equal(5120, requests[0].Size);
        Assert.Equal(0.120, requests[0].OriginSeconds, 3);
        Assert.Equal(0, requests[1].OriginSeconds); // no $request_time on that line
        Assert.Equal(1, requests[1].Time - requests[0].Time, 3);
        Assert.Equal(0, requests[2].Size); // "-" bytes
        Assert.Equal(6, reader.Read);
        Assert.Equal(3, reader.Skipped); // the POST, the 503 and the junk line
        Assert.StartsWith("line 6: this line", reader.FirstMalformed);
    }

    [Fact]
    public void ACsv_WithAHeaderAndTimesToLive()
    {
        var requests = Read("time,key,size,ttl\n0,/a,100,60\n1.5,/b,200,\n2,/a,100,60\n3,/c,notanumber\n", TraceFormat.Csv, out var reader);

        Assert.Equal(3, requests.Count);
        Assert.Equal(TimeSpan.FromSeconds(60), requests[0].TimeToLive);
        Assert.Null(requests[1].TimeToLive);
        Assert.Equal(1.5, requests[1].Time);
        Assert.Equal(requests[0].Key, requests[2].Key);
        Assert.Equal(2, reader.Skipped); // the header (not malformed) and the bad size
        Assert.StartsWith("line 5:", reader.FirstMalformed);
    }

    [Fact]
    public void AnOracleGeneralTrace_GzipOrNot_ReadsRecordByRecord_AndCountsATruncatedTail()
    {
        var bytes = new byte[(24 * 3) + 10];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 24), (uint)(100 + i));
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((i * 24) + 4), (ulong)(i % 2));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((i * 24) + 12), 4096);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan((i * 24) + 16), -1);
        }
        var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        foreach (var stream in new[] { new MemoryStream(bytes), new MemoryStream(gzipped.ToArray()) })
        {
            var reader = new TraceReader(stream, TraceFormat.OracleGeneral);
            var requests = reader.Requests().ToList();
            Assert.Equal([0UL, 1UL, 0UL], requests.Select(r => r.Key));
            Assert.Equal([100.0, 101.0, 102.0], requests.Select(r => r.Time));
            Assert.All(requests, r => Assert.Equal(4096, r.Size));
            Assert.Equal(1, reader.Skipped);
        }
    }

    [Fact]
    public void AReplay_CountsHitsBytesAndOriginTime_AndExpiresByTheTracesClock()
    {
        var replay = new CacheReplay([EvictionPolicy.Lru, EvictionPolicy.TinyLfu], [10_000]);
        replay.AddRange(
        [
            new TraceRequest(0, 1, 1000, TimeSpan.FromSeconds(10), OriginSeconds: 0.5),
            new TraceRequest(5, 1, 1000, TimeSpan.FromSeconds(10), OriginSeconds: 0.5), // hit
            new TraceRequest(11, 1, 1000, TimeSpan.FromSeconds(10), OriginSeconds: 0.5), // expired: a miss
            new TraceRequest(12, 2, 20_000, OriginSeconds: 1), // larger than the cache: a miss, never stored
            new TraceRequest(13, 2, 20_000, OriginSeconds: 1),
        ]);
        foreach (var result in replay.Results)
        {
            Assert.Equal(5, result.Requests);
            Assert.Equal(1, result.Hits);
            Assert.Equal(4, result.OriginRequests);
            Assert.Equal(1000, result.HitBytes);
            Assert.Equal(43_000, result.RequestBytes);
            Assert.Equal(3.0, result.OriginSeconds, 6);
        }
    }
}
