using System.Runtime.InteropServices;

namespace VideoData.Features.Extraction;

/// <summary>
/// The C library's allocator, which libtorch's CPU tensors come from. glibc serves a block below its mmap threshold
/// from a heap arena and keeps it after it is freed; the threshold rises by itself up to 32 MB as large blocks are
/// freed, and raises its trim threshold with it, so the heap keeps the fragmented sum of a batch's activations
/// (measured here: ~0.5 GB more resident memory at 8 seconds a batch). A fixed threshold stops both.
/// </summary>
internal static class NativeHeap
{
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD in glibc's malloc.h

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
            return Mallopt(MmapThresholdParameter, bytes) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

#pragma warning disable SYSLIB1054 // two ints: nothing to marshal, and LibraryImport would need unsafe code in this project
    [DllImport("libc.so.6", EntryPoint = "mallopt", ExactSpelling = true)]
    private static extern int Mallopt(int parameter, int value);
#pragma warning restore SYSLIB1054
}
