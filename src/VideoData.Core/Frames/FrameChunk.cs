namespace VideoData.Core.Frames;

/// <summary>
/// Up to one second of decoded, sampled and cropped video: <see cref="FrameCount"/> frames of
/// <see cref="Size"/>×<see cref="Size"/> RGB24 pixels, frame-major (frame, row, column, channel).
/// Chunks are produced in order by the decoder; the consumer owns the chunk and disposes it,
/// which returns its pixel buffer to the pool it came from.
/// </summary>
public sealed class FrameChunk : IDisposable
{
    private readonly Action<byte[]>? _returnBuffer;
    private byte[]? _buffer;

    /// <summary>Wraps a pixel buffer; <paramref name="returnBuffer"/> is called once on dispose.</summary>
    public FrameChunk(int secondIndex, int frameCount, int size, byte[] buffer, TimeSpan startTime, Action<byte[]>? returnBuffer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(secondIndex);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frameCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, frameCount * size * size * 3, nameof(buffer));
        SecondIndex = secondIndex;
        FrameCount = frameCount;
        Size = size;
        StartTime = startTime;
        _buffer = buffer;
        _returnBuffer = returnBuffer;
    }

    /// <summary>Which second of the video this chunk is (0-based); frame i of the chunk is output frame SecondIndex·fps + i.</summary>
    public int SecondIndex { get; }

    /// <summary>Frames in this chunk: the frame rate for every chunk but possibly the last.</summary>
    public int FrameCount { get; }

    /// <summary>Width and height of each frame in pixels.</summary>
    public int Size { get; }

    /// <summary>Presentation time of the first frame on the output grid.</summary>
    public TimeSpan StartTime { get; }

    /// <summary>The RGB24 pixels, FrameCount·Size·Size·3 bytes. Invalid after <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(FrameChunk))).AsSpan(0, FrameCount * Size * Size * 3);

    /// <summary>The same pixels as memory, for APIs that need it. Invalid after <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> PixelMemory => (_buffer ?? throw new ObjectDisposedException(nameof(FrameChunk))).AsMemory(0, FrameCount * Size * Size * 3);

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            _returnBuffer?.Invoke(buffer);
        }
    }
}
