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
    private readonly Func<CaptureBodyFeature, ValueTask<CaptureMode>> _decide;
    private PipeWriter? _writer;
    private long? _expectedLength;
    private byte? _heldLastByte;
    private bool _completionHeld;

    public CaptureBodyFeature(IHttpResponseBodyFeature inner, Func<CaptureBodyFeature, ValueTask<CaptureMode>> decide, CaptureBudget budget)
    {
        _inner = inner;
        _decide = decide;
        Copy = new BodyCopy(budget);
    }

    public CaptureMode Mode { get; private set; }

    /// <summary>Gets the copy of the body kept for the store (<see cref="StartBuffering"/>).</summary>
    public BodyCopy Copy { get; }

    /// <summary>Gets how many body bytes the upstream wrote.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Starts keeping a copy of the body (<see cref="BodyCopy.Start"/>); the last byte of one of known length is then held back until it is stored.</summary>
    public void StartBuffering(long limit, long? expectedLength)
    {
        _expectedLength = expectedLength;
        Copy.Start(limit, expectedLength);
    }

    /// <summary>Makes the decision now if nothing was written (e.g. an empty body or an upstream failure).</summary>
    public ValueTask<CaptureMode> DecideAsync()
    {
        if (Mode != CaptureMode.Undecided)
        {
            return new(Mode);
        }
        var decided = _decide(this);
        if (!decided.IsCompletedSuccessfully)
        {
            return DecidedAsync(decided);
        }
        Mode = decided.Result;
        return new(Mode);
    }

    private async ValueTask<CaptureMode> DecidedAsync(ValueTask<CaptureMode> decided) => Mode = await decided;

    /// <summary>For the synchronous writes (which Kestrel refuses unless AllowSynchronousIO): the decision, waited for.</summary>
    private CaptureMode Decide()
    {
        var decided = DecideAsync();
        return decided.IsCompletedSuccessfully ? decided.Result : decided.AsTask().GetAwaiter().GetResult();
    }

    Stream IHttpResponseBodyFeature.Stream => this;

    PipeWriter IHttpResponseBodyFeature.Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    void IHttpResponseBodyFeature.DisableBuffering() => _inner.DisableBuffering();

    async Task IHttpResponseBodyFeature.StartAsync(CancellationToken cancellationToken)
    {
        if (await DecideAsync() == CaptureMode.PassThrough)
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
        if (await DecideAsync() != CaptureMode.PassThrough)
        {
            return;
        }
        if (Copy.Buffering)
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
        if (await DecideAsync() != CaptureMode.PassThrough)
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
    private bool HoldsLastByte(int count) => count > 0 && Copy.Buffering && BytesWritten == _expectedLength;

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (await DecideAsync() == CaptureMode.PassThrough)
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
        Copy.Add(data);
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
