using System.Buffers;

namespace CacheProxy.Caching;

/// <summary>
/// The copy of a response body kept for the store while it streams to the client (<see cref="CaptureBodyFeature"/>):
/// pooled buffers reserved in the <see cref="CaptureBudget"/>, given up — the response still streaming — once the body
/// outgrows the limit or memory runs out.
/// </summary>
internal sealed class BodyCopy(CaptureBudget budget)
{
    private byte[]? _buffer;
    private byte[]? _replacement;
    private int _length;
    private long _limit;

    /// <summary>Gets whether the body is being kept and has not outgrown the limit.</summary>
    public bool Buffering { get; private set; }

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
    public void Start(long limit, long? expectedLength)
    {
        _limit = limit;
        var initial = expectedLength is > 0 and <= int.MaxValue && expectedLength <= limit ? (int)expectedLength.Value : 4096;
        _buffer = Rent(initial);
        Buffering = _buffer is not null;
    }

    /// <summary>Adds written bytes to the copy, or gives the copy up when they do not fit.</summary>
    public void Add(ReadOnlySpan<byte> data)
    {
        if (!Buffering || _buffer is null)
        {
            return;
        }
        if (_length + (long)data.Length > _limit)
        {
            Release(); // too large to store: keep streaming, stop keeping
            return;
        }
        if (_length + data.Length > _buffer.Length)
        {
            if (Rent((int)Math.Min(_limit, Math.Max(_buffer.Length * 2L, _length + (long)data.Length))) is not { } larger)
            {
                Release(); // no memory for more: keep streaming, stop keeping
                return;
            }
            _buffer.AsSpan(0, _length).CopyTo(larger);
            Return(_buffer);
            _buffer = larger;
        }
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    /// <summary>Gets the bytes kept so far (empty when none), valid until <see cref="Take"/> or <see cref="Release"/>.</summary>
    public ReadOnlySpan<byte> Kept => _replacement ?? (_buffer is null ? default : _buffer.AsSpan(0, _length));

    /// <summary>Replaces the kept body with <paramref name="body"/> (a transformed one): <see cref="Take"/> returns it.</summary>
    public void ReplaceWith(byte[] body)
    {
        Release();
        _replacement = body;
        Buffering = true;
    }

    /// <summary>Returns the kept body as a new exact-size array, and releases the pooled buffer.</summary>
    public byte[] Take()
    {
        var body = _replacement ?? (_buffer is null ? [] : _buffer.AsSpan(0, _length).ToArray());
        Release();
        return body;
    }

    public void Release()
    {
        if (_buffer is not null)
        {
            Return(_buffer);
            _buffer = null;
        }
        _replacement = null;
        _length = 0;
        Buffering = false;
    }

    /// <summary>A pooled array of at least <paramref name="size"/> bytes, reserved in the budget; null when it has no room or the allocation failed.</summary>
    private byte[]? Rent(int size)
    {
        if (!budget.TryReserve(size))
        {
            SkipReason = $"CacheProxy:CaptureMemoryLimit ({budget.Limit} bytes) reached by the bodies being stored";
            return null;
        }
        byte[] array;
        try
        {
            array = ArrayPool<byte>.Shared.Rent(size);
        }
        catch (OutOfMemoryException)
        {
            budget.Release(size);
            (SkipReason, OutOfMemory) = ($"allocating {size} bytes failed (out of memory)", true);
            return null;
        }
        budget.Add(array.Length - size);
        return array;
    }

    private void Return(byte[] array)
    {
        ArrayPool<byte>.Shared.Return(array);
        budget.Release(array.Length);
    }
}
