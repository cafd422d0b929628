using VideoData.Captions.Cleaning;
using VideoData.Features.Extraction;
using VideoData.Features.Runtime;
using VideoData.Media.Decode;

namespace VideoData.Pipeline.Definition;

/// <summary>
/// The one place a pipeline definition becomes the options of each library it drives (decoder, encoder, compute host,
/// caption cleaner). The definition is validated before it gets here (<see cref="PipelineDefinitionLoader.Validate"/>),
/// so nothing here falls back silently: a value the mapping does not know is a bug and throws.
/// </summary>
internal static class LibraryOptions
{
    /// <summary>The compute host the encoder runs on: its intra-op threads and the native heap policy, applied once at start.</summary>
    public static ComputeHostOptions ForComputeHost(EncoderSection encoder) => new()
    {
        IntraOpThreads = encoder.Threads,
        NativeHeap = encoder.NativeHeap,
        NativeMmapThreshold = encoder.NativeMmapThresholdMiB << 20,
    };

    /// <summary>The frozen encoder's options (its threads live on the compute host: <see cref="ForComputeHost"/>).</summary>
    public static S3dEncoderOptions ForEncoder(PipelineDefinition definition) => new()
    {
        Device = definition.Encoder.Device == EncoderDevice.Cuda && definition.Encoder.CudaDevice > 0
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cuda:{definition.Encoder.CudaDevice}")
            : Name(definition.Encoder.Device),
        SecondsPerBatch = definition.Encoder.SecondsPerBatch,
        L2Normalize = definition.Encoder.Normalize,
        IncludeMixed5c = definition.Encoder.Mixed5c,
        FramesPerSecond = definition.Decode.Fps,
        FrameSize = definition.Decode.Size,
    };

    /// <summary>The decoder's options; <paramref name="waitForCores"/> is the hook that pauses decodes during an encoder pass (stages.cpu_turns).</summary>
    public static DecodeOptions ForDecode(PipelineDefinition definition, Func<CancellationToken, bool>? waitForCores = null) => new()
    {
        Fps = definition.Decode.Fps,
        Size = definition.Decode.Size,
        Decoder = definition.Decode.Decoder,
        Threads = definition.Decode.Threads,
        WatchdogTimeout = TimeSpan.FromSeconds(definition.Decode.TimeoutSeconds),
        MaxDuration = TimeSpan.FromSeconds(definition.Decode.MaxDurationSeconds),
        MaxDecodeTime = TimeSpan.FromSeconds(definition.Decode.MaxDecodeSeconds),
        MinBytesPerSecond = definition.Decode.MinBytesPerSecond,
        FormatWhitelist = definition.Decode.FormatWhitelist,
        WaitForCores = waitForCores,
    };

    /// <summary>The caption cleaner's options.</summary>
    public static CaptionCleanerOptions ForCaptionCleaner(PipelineDefinition definition) => new()
    {
        Dedup = definition.Captions.Dedup,
        Seed = unchecked((ulong)definition.Captions.Seed),
        Normalize = definition.Captions.Normalize,
        MaxCueCharacters = definition.Captions.MaxCueCharacters,
    };

    private static string Name(EncoderDevice device) => device switch
    {
        EncoderDevice.Cpu => "cpu",
        EncoderDevice.Cuda => "cuda",
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, "encoder.device has no library mapping."),
    };
}
