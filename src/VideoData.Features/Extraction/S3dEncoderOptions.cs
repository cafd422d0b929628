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

    /// <summary>
    /// libtorch intra-op threads of the compute host the encoder starts when it is given none (0, the default, leaves
    /// libtorch's choice). With a host given, 0 or the host's own count (<see cref="Runtime.ComputeHost.IntraOpThreads"/>).
    /// </summary>
    public int Threads { get; set; }

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

        return new S3dEncoderOptions
        {
            Device = device,
            SecondsPerBatch = SecondsPerBatch,
            L2Normalize = L2Normalize,
            Precision = Precision,
            IncludeMixed5c = IncludeMixed5c,
            FramesPerSecond = FramesPerSecond,
            FrameSize = FrameSize,
            Threads = Threads,
        };
    }
}
