using System.Collections.Concurrent;

namespace VideoData.Training.Streaming;

/// <summary>
/// Feature buffers of one stream, reused batch to batch. Buffers of other lengths (a short last batch) are
/// allocated and dropped. Thread-safe; holds at most as many buffers as were ever in flight at once.
/// </summary>
internal sealed class FeatureBufferPool
{
    private readonly ConcurrentBag<float[]> _free = [];

    public float[] Rent(int length)
    {
        while (_free.TryTake(out var buffer))
        {
            if (buffer.Length == length)
            {
                return buffer;
            }
        }

        return GC.AllocateUninitializedArray<float>(length);
    }

    public void Return(float[] buffer) => _free.Add(buffer);
}
