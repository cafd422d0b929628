using static TorchSharp.torch;

namespace VideoData.Features.Runtime;

/// <summary>
/// libtorch's intra-op thread count, which is per calling thread: <c>set_num_threads</c> sets the caller's OpenMP and
/// MKL counts, and also a process-wide default that every thread adopts on its first libtorch call. So a thread pool
/// thread whose first call came while some other thread had lowered its own count (a retrieval worker sets 1 for
/// a moment) keeps that count for life. Results depend on it: reductions are split by thread, so the same forward
/// on 1 and on 2 threads differs in the last bits. Code whose results must repeat exactly (the trainer, resumed or
/// not, on whatever pool thread an await lands) pins the count on the calling thread before it computes.
/// </summary>
public static class IntraOpThreads
{
    /// <summary>The count <paramref name="threads"/> stands for: itself when positive, one per available core when 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is negative.</exception>
    public static int Resolve(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        return threads > 0 ? threads : Environment.ProcessorCount;
    }

    /// <summary>
    /// Sets the calling thread's libtorch intra-op thread count to <see cref="Resolve"/>(<paramref name="threads"/>)
    /// when it is not that already (setting it also clears oneDNN's cached primitives, so it is not done needlessly).
    /// </summary>
    public static void Pin(int threads)
    {
        var count = Resolve(threads);
        if (get_num_threads() != count)
        {
            set_num_threads(count);
        }
    }
}
