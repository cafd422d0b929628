using System.Text.Json.Serialization;

namespace VideoData.Features.Runtime;

/// <summary>Settings a <see cref="ComputeHost"/> applies once, when it starts; validated there.</summary>
public sealed record ComputeHostOptions
{
    /// <summary>
    /// libtorch intra-op threads on the host's thread (0, the default, leaves libtorch's choice: one per core). Results
    /// that must repeat bit for bit (the trainer, resumed or not) need the same count: see <see cref="IntraOpThreads"/>.
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// How the C heap that libtorch's CPU tensors come from is set up, process-wide (glibc only; any of glibc's
    /// <c>MALLOC_*_</c> or <c>GLIBC_TUNABLES</c> environment variables, when set, wins: set those instead to decide
    /// before the process starts). Default <see cref="NativeHeapPolicy.System"/>: a host changes nothing unless asked.
    /// </summary>
    public NativeHeapPolicy NativeHeap { get; init; } = NativeHeapPolicy.System;

    /// <summary>
    /// With <see cref="NativeHeap"/> = <see cref="NativeHeapPolicy.MmapThreshold"/>: glibc's mmap threshold in bytes for
    /// the process, fixed: blocks at least this large are returned to the system when freed, smaller ones are reused
    /// from the heap. Default 32 MiB (glibc's maximum): fixing it stops glibc from also raising its trim threshold, which
    /// is what kept freed activations resident; a lower value saves a little more memory at a cost in page faults
    /// (4 MiB: ~20% slower on the CPU). 0 leaves the C library's own self-raising threshold.
    /// </summary>
    public int NativeMmapThreshold { get; init; } = 32 << 20;

    /// <summary>Checks every setting; throws <see cref="ArgumentOutOfRangeException"/> naming the first bad one and its value.</summary>
    public void Validate()
    {
        if (IntraOpThreads is < 0 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "Compute host option IntraOpThreads must be between 0 and 1024.");
        }

        if (!Enum.IsDefined(NativeHeap))
        {
            throw new ArgumentOutOfRangeException(nameof(NativeHeap), NativeHeap, "Compute host option NativeHeap must be Reuse, MmapThreshold or System.");
        }

        if (NativeMmapThreshold is < 0 or > 32 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(NativeMmapThreshold), NativeMmapThreshold, "Compute host option NativeMmapThreshold must be between 0 and 32 MiB (glibc's limit).");
        }
    }
}

/// <summary>How a <see cref="ComputeHost"/> sets up the C heap libtorch's CPU tensors come from (see <see cref="ComputeHostOptions.NativeHeap"/>).</summary>
public enum NativeHeapPolicy
{
    /// <summary>
    /// Every block from the heap, freed blocks kept for reuse: no page is zero-filled twice, so the fastest on the CPU
    /// (4.2–4.6 against 3.0–3.2 video-s/s with <see cref="MmapThreshold"/> at 32 MiB, same peak memory); resident memory
    /// stays at the peak working set.
    /// </summary>
    Reuse,

    /// <summary>Blocks of at least <see cref="ComputeHostOptions.NativeMmapThreshold"/> bytes are mapped and returned when freed (<c>threshold</c> in pipeline files).</summary>
    [JsonStringEnumMemberName("threshold")]
    MmapThreshold,

    /// <summary>glibc's own self-adjusting defaults.</summary>
    System,
}
