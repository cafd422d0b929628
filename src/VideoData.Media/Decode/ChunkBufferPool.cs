using System.Collections.Concurrent;

namespace VideoData.Media.Decode;

/// <summary>
/// Pixel buffers for <see cref="Core.Frames.FrameChunk"/>s, pooled by exact length. ArrayPool
/// rounds up to a power of two (a 224×224×30 chunk, 4.5 MB, would take 8 MB); these are exactly
/// fps·size·size·3 bytes. At most <see cref="MaxRetainedPerLength"/> buffers of a length are kept;
/// the rest go to the GC. Thread-safe: chunks are rented by decode threads and returned by consumers.
/// </summary>
internal sealed class ChunkBufferPool
{
    public const int MaxRetainedPerLength = 32;

    private readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> _free = new();

    public static ChunkBufferPool Shared { get; } = new();

    public byte[] Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return _free.TryGetValue(length, out var bag) && bag.TryTake(out var buffer)
            ? buffer
            : GC.AllocateUninitializedArray<byte>(length);
    }

    public void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var bag = _free.GetOrAdd(buffer.Length, static _ => []);
        if (bag.Count < MaxRetainedPerLength)
        {
            bag.Add(buffer);
        }
    }
}
