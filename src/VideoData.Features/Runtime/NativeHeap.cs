namespace VideoData.Features.Runtime;

/// <summary>
/// The C library's allocator, which libtorch's CPU tensors come from. glibc serves a block below its mmap threshold
/// from a heap arena and keeps it after it is freed; the threshold rises by itself up to 32 MB as large blocks are
/// freed, and raises its trim threshold with it, so the heap keeps the fragmented sum of a batch's activations
/// (measured here: ~0.5 GB more resident memory at 8 seconds a batch). A fixed threshold stops both. Applied once, by a
/// <see cref="ComputeHost"/> as it starts (<see cref="ComputeHostOptions.NativeHeap"/>).
/// </summary>
internal static class NativeHeap
{
    // Parameters of mallopt in glibc's malloc.h.
    private const int TrimThresholdParameter = -1; // M_TRIM_THRESHOLD
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int MmapMaxParameter = -4; // M_MMAP_MAX

    private static readonly string[] Variables = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"];

    /// <summary>
    /// Makes glibc serve every block, however large, from its heap and keep what is freed for reuse (no mmap per block,
    /// no trimming), process-wide, unless one of glibc's own malloc environment variables is set. The encoder frees and
    /// reallocates the same activation sizes every batch; with a fresh mapping each time the kernel zero-fills each page
    /// again (a quarter of the encoder's CPU time went to the system here). Resident memory then stays at the largest
    /// working set the process reached instead of falling back between batches. False where the C library is not glibc,
    /// refuses the values, or the environment already decides.
    /// </summary>
    public static bool TryReuseFreedBlocks()
    {
        if (!OperatingSystem.IsLinux() || Variables.Any(v => Environment.GetEnvironmentVariable(v) is not null))
        {
            return false;
        }

        try
        {
            return Interop.Libc.Mallopt(MmapMaxParameter, 0) == 1 && Interop.Libc.Mallopt(TrimThresholdParameter, int.MaxValue) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Sets glibc's mmap threshold (process-wide) unless the <c>MALLOC_MMAP_THRESHOLD_</c> environment variable already
    /// does; false where the C library is not glibc or refuses the value.
    /// </summary>
    public static bool TrySetMmapThreshold(int bytes)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null)
        {
            return false;
        }

        try
        {
            return Interop.Libc.Mallopt(MmapThresholdParameter, bytes) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
