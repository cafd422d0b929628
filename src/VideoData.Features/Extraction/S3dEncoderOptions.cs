using VideoData.Core.Scheduling;

namespace VideoData.Features.Extraction;

/// <summary>Numeric precision of the encoder's forward pass.</summary>
public enum EncoderPrecision
{
    /// <summary>float16 on CUDA, float32 on the CPU (the default).</summary>
    Auto,

    /// <summary>float32 everywhere.</summary>
    Float32,

    /// <summary>float16 (CUDA only; the CPU refuses it).</summary>
    Float16,
}

/// <summary>Settings of an <see cref="S3dEncoder"/>, validated once when it is created.</summary>
public sealed class S3dEncoderOptions
{
    /// <summary><c>cpu</c> (default), <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Seconds of video per forward pass, across videos (1–256, default 8).</summary>
    public int SecondsPerBatch { get; set; } = 8;

    /// <summary>L2-normalize each second's <c>video_embedding</c> (default on, like the reference).</summary>
    public bool L2Normalize { get; set; } = true;

    /// <summary>Forward precision (default <see cref="EncoderPrecision.Auto"/>).</summary>
    public EncoderPrecision Precision { get; set; } = EncoderPrecision.Auto;

    /// <summary>Also return the 1024-d mean-pooled <c>mixed_5c</c> per second (default off).</summary>
    public bool IncludeMixed5c { get; set; }

    /// <summary>Frames per encoded second (default 30); a shorter last second is zero-padded to this.</summary>
    public int FramesPerSecond { get; set; } = 30;

    /// <summary>Side of the square RGB frames the decoder delivers (default 224).</summary>
    public int FrameSize { get; set; } = 224;

    /// <summary>libtorch intra-op threads (0, the default, leaves libtorch's choice). Process-wide.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// With <see cref="NativeHeap"/> = <see cref="NativeHeapPolicy.MmapThreshold"/>: glibc's mmap threshold in bytes for
    /// the process (the C allocator libtorch's CPU tensors come from), fixed: blocks
    /// at least this large are returned to the system when freed, smaller ones are reused from the heap. Default 32 MiB
    /// (glibc's maximum): fixing it stops glibc from also raising its trim threshold, which is what kept freed
    /// activations resident; a lower value saves a little more memory at a cost in page faults (4 MiB: ~20% slower on
    /// the CPU). 0 leaves the C library's own self-raising threshold. The <c>MALLOC_MMAP_THRESHOLD_</c> environment
    /// variable, when set, wins. Process-wide.
    /// </summary>
    public int NativeMmapThreshold { get; set; } = 32 << 20;

    /// <summary>
    /// How the C heap that libtorch's CPU tensors come from is set up, process-wide (glibc only; any of glibc's
    /// <c>MALLOC_*_</c> or <c>GLIBC_TUNABLES</c> environment variables, when set, wins). <see cref="NativeHeapPolicy.Reuse"/>
    /// (the default) keeps freed blocks for reuse; <see cref="NativeHeapPolicy.MmapThreshold"/> applies
    /// <see cref="NativeMmapThreshold"/>; <see cref="NativeHeapPolicy.System"/> leaves glibc's defaults.
    /// </summary>
    public NativeHeapPolicy NativeHeap { get; set; } = NativeHeapPolicy.Reuse;

    /// <summary>
    /// When set, every forward pass holds these turns, so decoders that share them (<c>DecodeOptions.Turns</c>) pause
    /// while it runs instead of competing for its cores. For a CPU encoder on the same cores as the decoders; default null.
    /// </summary>
    public CpuTurns? Turns { get; set; }

    internal S3dEncoderOptions Validated()
    {
        var device = Device?.Trim().ToLowerInvariant() ?? "";
        if (device != "cpu" && device != "cuda" && !(device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out var index) && index >= 0))
        {
            throw new ArgumentException($"Encoder option Device = '{Device}' is invalid: expected cpu, cuda or cuda:N.", nameof(Device));
        }

        if (SecondsPerBatch is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(SecondsPerBatch), SecondsPerBatch, "Encoder option SecondsPerBatch must be between 1 and 256.");
        }

        if (!Enum.IsDefined(Precision))
        {
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "Encoder option Precision must be Auto, Float32 or Float16.");
        }

        if (Precision == EncoderPrecision.Float16 && device == "cpu")
        {
            throw new ArgumentException("Encoder option Precision = Float16 needs a CUDA device; the CPU path runs float32.", nameof(Precision));
        }

        if (FramesPerSecond is < 2 or > 240 || FramesPerSecond % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FramesPerSecond), FramesPerSecond, "Encoder option FramesPerSecond must be an even number between 2 and 240.");
        }

        if (FrameSize is < 32 or > 1024 || FrameSize % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FrameSize), FrameSize, "Encoder option FrameSize must be an even number between 32 and 1024.");
        }

        if (Threads is < 0 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Encoder option Threads must be between 0 and 1024.");
        }

        if (NativeMmapThreshold is < 0 or > 32 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(NativeMmapThreshold), NativeMmapThreshold, "Encoder option NativeMmapThreshold must be between 0 and 32 MiB (glibc's limit).");
        }

        return new S3dEncoderOptions
        {
            NativeMmapThreshold = NativeMmapThreshold,
            NativeHeap = NativeHeap,
            Device = device,
            SecondsPerBatch = SecondsPerBatch,
            L2Normalize = L2Normalize,
            Precision = Precision,
            IncludeMixed5c = IncludeMixed5c,
            FramesPerSecond = FramesPerSecond,
            FrameSize = FrameSize,
            Threads = Threads,
            Turns = Turns,
        };
    }
}

/// <summary>How the encoder sets up the C heap its CPU tensors come from (see <see cref="S3dEncoderOptions.NativeHeap"/>).</summary>
public enum NativeHeapPolicy
{
    /// <summary>
    /// Every block from the heap, freed blocks kept for reuse: no page is zero-filled twice, so the fastest on the CPU
    /// (4.2–4.6 against 3.0–3.2 video-s/s with <see cref="MmapThreshold"/> at 32 MiB, same peak memory); resident memory
    /// stays at the peak working set.
    /// </summary>
    Reuse,

    /// <summary>Blocks of at least <see cref="S3dEncoderOptions.NativeMmapThreshold"/> bytes are mapped and returned when freed.</summary>
    MmapThreshold,

    /// <summary>glibc's own self-adjusting defaults.</summary>
    System,
}
