using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>
/// One HTTP/2 request over cleartext with prior knowledge, its fields written as HPACK literals exactly as given: for
/// what HttpClient will not send (connection-specific fields, RFC 9113 §8.2.2).
/// </summary>
public static class RawHttp2
{
    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, GoAway = 0x7;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;

    /// <summary>
    /// How stream 1 ended: the response's status (0 if none came) or the error code of a RST_STREAM or GOAWAY; and
    /// whether the response's header block added a field to the HPACK dynamic table (RFC 7541 §6.2.1).
    /// </summary>
    public sealed record Outcome(int Status, int? ResetCode, int? GoAwayCode, bool Indexing = false);

    public static async Task<Outcome> GetAsync(int port, string path, params (string Name, string Value)[] fields)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var block = new List<byte>();
        foreach (var (name, value) in new[] { (":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "gateway") }.Concat(fields))
        {
            // Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2); short strings only.
            block.Add(0x00);
            block.Add(checked((byte)name.Length));
            block.AddRange(Encoding.ASCII.GetBytes(name));
            block.Add(checked((byte)value.Length));
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }
        var output = new List<byte>(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        output.AddRange(Frame(Settings, 0, 0, []));
        output.AddRange(Frame(Headers, EndStream | EndHeaders, 1, [.. block]));
        await stream.WriteAsync(output.ToArray());

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var status = 0;
        var indexing = false;
        var header = new byte[9];
        while (true)
        {
            try
            {
                await stream.ReadExactlyAsync(header, timeout.Token);
            }
            catch (EndOfStreamException)
            {
                return new Outcome(status, null, null);
            }
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var type = header[3];
            var flags = header[4];
            var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF;
            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, timeout.Token);
            switch (type)
            {
                case Settings when (flags & Ack) == 0:
                    await stream.WriteAsync(Frame(Settings, Ack, 0, []), timeout.Token);
                    break;
                case Headers when streamId == 1:
                    status = StatusOf(payload);
                    indexing = AddsToTable(payload);
                    if ((flags & EndStream) != 0)
                    {
                        return new Outcome(status, null, null, indexing);
                    }
                    break;
                case Data when streamId == 1 && (flags & EndStream) != 0:
                    return new Outcome(status, null, null, indexing);
                case RstStream when streamId == 1:
                    return new Outcome(status, BinaryPrimitives.ReadInt32BigEndian(payload), null);
                case GoAway:
                    return new Outcome(status, null, BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4)));
            }
        }
    }

    /// <summary>Walks a header block (RFC 7541 §6): true when a field is a literal with incremental indexing (01xxxxxx).</summary>
    private static bool AddsToTable(byte[] block)
    {
        var i = 0;
        while (i < block.Length)
        {
            var b = block[i];
            if ((b & 0x80) != 0)
            {
                ReadInteger(block, ref i, 7); // indexed field
                continue;
            }
            if ((b & 0xE0) == 0x20)
            {
                ReadInteger(block, ref i, 5); // dynamic table size update
                continue;
            }
            if ((b & 0xC0) == 0x40)
            {
                return true;
            }
            if (ReadInteger(block, ref i, 4) == 0)
            {
                var nameLength = ReadInteger(block, ref i, 7); // a new name
                i += nameLength;
            }
            var valueLength = ReadInteger(block, ref i, 7);
            i += valueLength;
        }
        return false;
    }

    private static int ReadInteger(byte[] block, ref int i, int prefixBits)
    {
        var mask = (1 << prefixBits) - 1;
        var value = block[i++] & mask;
        if (value < mask)
        {
            return value;
        }
        for (var shift = 0; ; shift += 7)
        {
            var next = block[i++];
            value += (next & 0x7F) << shift;
            if ((next & 0x80) == 0)
            {
                return value;
            }
        }
    }

    private static byte[] Frame(byte type, int flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = (byte)flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>
    /// :status from the first field of a response header block: Kestrel sends it first, as an indexed field of the
    /// static table (RFC 7541 Appendix A) or a literal with the :status name index and a plain three-digit value.
    /// </summary>
    private static int StatusOf(byte[] block)
    {
        int[] indexed = [200, 204, 206, 304, 400, 404, 500]; // static table entries 8–14
        if ((block[0] & 0x80) != 0)
        {
            var index = block[0] & 0x7F;
            return index is >= 8 and <= 14 ? indexed[index - 8] : throw new InvalidDataException($"first field is static entry {index}, not :status");
        }
        // 0x48 (incremental indexing) or 0x08 / 0x18 (without / never indexed), name index 8; value length 3, no Huffman.
        if ((block[0] & 0x0F) == 8 && block[1] == 3)
        {
            return int.Parse(Encoding.ASCII.GetString(block, 2, 3), System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidDataException($"cannot read :status from 0x{block[0]:x2} 0x{block[1]:x2}");
    }
}
