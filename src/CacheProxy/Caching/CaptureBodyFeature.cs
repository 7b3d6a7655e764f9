using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CacheProxy.Caching;

/// <summary>What happens to an upstream response once its status and headers are known.</summary>
internal enum CaptureMode
{
    /// <summary>No byte and no header has gone out yet.</summary>
    Undecided,

    /// <summary>Headers and body go to the client (and into the buffer when the response is being stored).</summary>
    PassThrough,

    /// <summary>Nothing goes out: the engine answers from a stored response instead (304 on revalidation, stale-if-error).</summary>
    Swallow,

    /// <summary>Nothing goes out, but the body is kept: the rest of a stored part, which the engine joins to it and answers from.</summary>
    Hold,
}

/// <summary>
/// Sits in front of the client's response body while the upstream response is written. On the first write,
/// flush or start it asks its owner what to do, so the owner can still change status and headers, swallow a 304
/// or an error, or decide to keep a copy of the body (up to a limit) for the store.
/// </summary>
internal sealed class CaptureBodyFeature : Stream, IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly Func<CaptureBodyFeature, CaptureMode> _decide;
    private readonly CaptureBudget _budget;
    private PipeWriter? _writer;
    private byte[]? _buffer;
    private int _length;
    private long _limit;
    private long? _expectedLength;
    private byte? _heldLastByte;
    private bool _completionHeld;

    public CaptureBodyFeature(IHttpResponseBodyFeature inner, Func<CaptureBodyFeature, CaptureMode> decide, CaptureBudget budget)
    {
        _inner = inner;
        _decide = decide;
        _budget = budget;
    }

    public CaptureMode Mode { get; private set; }

    /// <summary>Gets whether the body is being kept and has not outgrown the limit.</summary>
    public bool Buffering { get; private set; }

    /// <summary>Gets how many body bytes the upstream wrote.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Gets why the copy was given up for lack of memory (the <see cref="CaptureBudget"/> was spent, or an allocation
    /// failed), or null.
    /// </summary>
    public string? SkipReason { get; private set; }

    /// <summary>Gets whether the copy was given up because an allocation failed (rather than the budget).</summary>
    public bool OutOfMemory { get; private set; }

    /// <summary>
    /// Starts keeping a copy of the body, dropping it once more than <paramref name="limit"/> bytes arrive; when the
    /// budget has no room even for the start, <see cref="Buffering"/> stays false and <see cref="SkipReason"/> says so.
    /// </summary>
    public void StartBuffering(long limit, long? expectedLength)
    {
        _limit = limit;
        _expectedLength = expectedLength;
        var initial = expectedLength is > 0 and <= int.MaxValue && expectedLength <= limit ? (int)expectedLength.Value : 4096;
        _buffer = Rent(initial);
        Buffering = _buffer is not null;
    }

    /// <summary>A pooled array of at least <paramref name="size"/> bytes, reserved in the budget; null when it has no room or the allocation failed.</summary>
    private byte[]? Rent(int size)
    {
        if (!_budget.TryReserve(size))
        {
            SkipReason = $"CacheProxy:CaptureMemoryLimit ({_budget.Limit} bytes) reached by the bodies being stored";
            return null;
        }
        byte[] array;
        try
        {
            array = ArrayPool<byte>.Shared.Rent(size);
        }
        catch (OutOfMemoryException)
        {
            _budget.Release(size);
            (SkipReason, OutOfMemory) = ($"allocating {size} bytes failed (out of memory)", true);
            return null;
        }
        _budget.Add(array.Length - size);
        return array;
    }

    private void Return(byte[] array)
    {
        ArrayPool<byte>.Shared.Return(array);
        _budget.Release(array.Length);
    }

    /// <summary>Returns the kept body as a new exact-size array, and releases the pooled buffer.</summary>
    public byte[] TakeBody()
    {
        var body = _buffer is null ? [] : _buffer.AsSpan(0, _length).ToArray();
        ReleaseBuffer();
        return body;
    }

    public void ReleaseBuffer()
    {
        if (_buffer is not null)
        {
            Return(_buffer);
            _buffer = null;
        }
        Buffering = false;
    }

    /// <summary>Makes the decision now if nothing was written (e.g. an empty body or an upstream failure).</summary>
    public CaptureMode Decide()
    {
        if (Mode == CaptureMode.Undecided)
        {
            Mode = _decide(this);
        }
        return Mode;
    }

    Stream IHttpResponseBodyFeature.Stream => this;

    PipeWriter IHttpResponseBodyFeature.Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    void IHttpResponseBodyFeature.DisableBuffering() => _inner.DisableBuffering();

    async Task IHttpResponseBodyFeature.StartAsync(CancellationToken cancellationToken)
    {
        if (Decide() == CaptureMode.PassThrough)
        {
            await _inner.StartAsync(cancellationToken);
        }
    }

    Task IHttpResponseBodyFeature.SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken) =>
        SendFileFallback.SendFileAsync(this, path, offset, count, cancellationToken);

    async Task IHttpResponseBodyFeature.CompleteAsync()
    {
        if (_writer is not null)
        {
            await _writer.FlushAsync();
        }
        if (Decide() != CaptureMode.PassThrough)
        {
            return;
        }
        if (Buffering)
        {
            _completionHeld = true; // the end of a chunked body waits for the store too
            return;
        }
        await _inner.CompleteAsync();
    }

    /// <summary>
    /// Sends what was held back from the client while the body was being kept — the last byte of a body of known
    /// length, the end of one without — once the owner has stored it (or given up): a client that has received the
    /// whole response finds it stored when it asks again.
    /// </summary>
    public async ValueTask ReleaseHeldAsync()
    {
        if (_heldLastByte is { } last)
        {
            _heldLastByte = null;
            await _inner.Stream.WriteAsync(new[] { last });
        }
        if (_completionHeld)
        {
            _completionHeld = false;
            await _inner.CompleteAsync();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Decide() != CaptureMode.PassThrough)
        {
            KeepHeld(buffer.Span);
            return;
        }
        Keep(buffer.Span);
        if (HoldsLastByte(buffer.Length))
        {
            _heldLastByte = buffer.Span[^1];
            buffer = buffer[..^1];
        }
        await _inner.Stream.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Decide() != CaptureMode.PassThrough)
        {
            KeepHeld(buffer);
            return;
        }
        Keep(buffer);
        if (HoldsLastByte(buffer.Length))
        {
            _heldLastByte = buffer[^1];
            buffer = buffer[..^1];
        }
        _inner.Stream.Write(buffer);
    }

    /// <summary>Whether a write of <paramref name="count"/> bytes, already kept, completed a body of known length that is being stored.</summary>
    private bool HoldsLastByte(int count) => count > 0 && Buffering && BytesWritten == _expectedLength;

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Decide() == CaptureMode.PassThrough)
        {
            await _inner.Stream.FlushAsync(cancellationToken);
        }
    }

    public override void Flush()
    {
        if (Decide() == CaptureMode.PassThrough)
        {
            _inner.Stream.Flush();
        }
    }

    private void KeepHeld(ReadOnlySpan<byte> data)
    {
        if (Mode == CaptureMode.Hold)
        {
            Keep(data);
        }
    }

    private void Keep(ReadOnlySpan<byte> data)
    {
        BytesWritten += data.Length;
        if (!Buffering || _buffer is null)
        {
            return;
        }
        if (_length + (long)data.Length > _limit)
        {
            ReleaseBuffer(); // too large to store: keep streaming, stop keeping
            return;
        }
        if (_length + data.Length > _buffer.Length)
        {
            if (Rent((int)Math.Min(_limit, Math.Max(_buffer.Length * 2L, _length + (long)data.Length))) is not { } larger)
            {
                ReleaseBuffer(); // no memory for more: keep streaming, stop keeping
                return;
            }
            _buffer.AsSpan(0, _length).CopyTo(larger);
            Return(_buffer);
            _buffer = larger;
        }
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
