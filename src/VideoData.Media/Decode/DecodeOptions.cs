
namespace VideoData.Media.Decode;

/// <summary>Which decoder <see cref="VideoDecoder"/> uses.</summary>
public enum DecoderPreference
{
    /// <summary>NVDEC (the <c>cuda</c> hwaccel) when a device can be created and supports the codec, else the CPU; the reason for falling back is reported once in <see cref="DecodeStatistics.FallbackReason"/>.</summary>
    Auto,

    /// <summary>libavcodec's software decoders.</summary>
    Cpu,

    /// <summary>NVDEC only; fails when no CUDA device can be created or the codec is not supported by NVDEC.</summary>
    Cuda,
}

/// <summary>
/// How to decode and sample a video. The defaults reproduce the reference extractor: 30 fps,
/// shorter side scaled to 224 and a 224×224 center crop. Validated once when a decode or probe
/// starts; an invalid value fails with an <see cref="ArgumentOutOfRangeException"/> naming the option.
/// </summary>
public sealed record DecodeOptions
{
    /// <summary>Output frame rate in frames per second (1–240); also the number of frames per <see cref="Core.Frames.FrameChunk"/>. Default 30.</summary>
    public int Fps { get; init; } = 30;

    /// <summary>Output frame width and height in pixels (2–4096): the shorter side is scaled to it, then center-cropped. Default 224.</summary>
    public int Size { get; init; } = 224;

    /// <summary>Decoder choice. Default <see cref="DecoderPreference.Auto"/>.</summary>
    public DecoderPreference Decoder { get; init; } = DecoderPreference.Auto;

    /// <summary>Decoder threads (frame and slice threading); 0 lets FFmpeg choose from the core count. Default 0.</summary>
    public int Threads { get; init; }

    /// <summary>A decode that makes no progress for this long fails with the <c>timeout</c> class; <see cref="Timeout.InfiniteTimeSpan"/> disables the watchdog. Default 60 s.</summary>
    public TimeSpan WatchdogTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest accepted coded width in pixels; wider videos fail with the <c>probe</c> class. Default 8192.</summary>
    public int MaxWidth { get; init; } = 8192;

    /// <summary>Largest accepted coded height in pixels. Default 8192.</summary>
    public int MaxHeight { get; init; } = 8192;

    /// <summary>Longest accepted duration, declared or decoded; longer videos fail (<c>probe</c> when declared, <c>decode</c> when discovered). Default 10 hours.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(10);

    /// <summary>
    /// Longest a video may keep its decode thread busy, in wall-clock time spent working (waiting for the consumer or for a
    /// turn on the cores does not count); over it the decode fails with the <c>timeout</c> class.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables the budget. Default 1 hour (a 10-hour video decodes in far less).
    /// </summary>
    public TimeSpan MaxDecodeTime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The output budget from the container's real extent: after the first <see cref="ExtentAllowance"/> of output, every
    /// further output second must be paid for by this many bytes of input (the input's length when known, else the bytes
    /// read so far). Timestamp jumps filled with repeated frames can otherwise make a few-KB file emit hours of frames; a
    /// decode over the budget fails with the <c>decode</c> class. Real videos hold far more: an all-black 320×240 H.264
    /// video is ~825 bytes per second. Default 64 (1–1,000,000).
    /// </summary>
    public int MinBytesPerSecond { get; init; } = 64;

    /// <summary>Output every video may produce whatever its size (see <see cref="MinBytesPerSecond"/>). Default 60 s.</summary>
    public TimeSpan ExtentAllowance { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The demuxers a video may be read with, by FFmpeg demuxer name (a demuxer with several names, such as
    /// <c>mov,mp4,m4a,3gp,3g2,mj2</c>, is accepted when any of its names is listed). Any other container (image
    /// sequences, playlists such as HLS/DASH/concat, raw elementary streams, subtitle files…) fails with the
    /// <c>probe</c> class before its demuxer runs. Default <see cref="DefaultFormatWhitelist"/>; the Media README says why each is there.
    /// </summary>
    public IReadOnlyList<string> FormatWhitelist { get; init; } = DefaultFormatWhitelist;

    /// <summary>
    /// The containers of video corpora: mov (MP4/MOV/3GP/M4V: YouTube's mp4, phones), matroska (MKV/WebM: YouTube's
    /// webm, yt-dlp's merged downloads), avi, flv (older web video), mpegts (MPEG-TS, broadcast and .ts captures),
    /// mpeg (MPEG-PS .mpg/.vob), asf (WMV), ogg (Theora .ogv).
    /// </summary>
    public static IReadOnlyList<string> DefaultFormatWhitelist { get; } = ["mov", "mp4", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "asf", "ogg"];

    /// <summary>Clock for the watchdog; tests may inject a fake one. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// When set, called on the decoding thread before each packet is read; it may block while a compute pass holds the
    /// cores (a CPU encoder's forward pass, which the decoder would only slow down) and returns whether it waited. Time
    /// spent in it is not a stall for the watchdog. Default null: never waits.
    /// </summary>
    public Func<CancellationToken, bool>? WaitForCores { get; init; }

    /// <summary>Convert every frame in the CLI's single swscale call (see FrameConverter); tests compare it with the default.</summary>
    internal bool SinglePassConversion { get; init; }

    /// <summary>Checks every option; throws <see cref="ArgumentOutOfRangeException"/> naming the first bad one.</summary>
    public void Validate()
    {
        Check(Fps is >= 1 and <= 240, nameof(Fps), Fps, "between 1 and 240");
        Check(Size is >= 2 and <= 4096, nameof(Size), Size, "between 2 and 4096");
        Check(Enum.IsDefined(Decoder), nameof(Decoder), Decoder, "auto, cpu or cuda");
        Check(Threads is >= 0 and <= 256, nameof(Threads), Threads, "between 0 (automatic) and 256");
        Check(WatchdogTimeout == Timeout.InfiniteTimeSpan || WatchdogTimeout > TimeSpan.Zero, nameof(WatchdogTimeout), WatchdogTimeout, "positive or Timeout.InfiniteTimeSpan");
        Check(MaxWidth is >= 16 and <= 65536, nameof(MaxWidth), MaxWidth, "between 16 and 65536");
        Check(MaxHeight is >= 16 and <= 65536, nameof(MaxHeight), MaxHeight, "between 16 and 65536");
        Check(MaxDuration > TimeSpan.Zero && MaxDuration <= TimeSpan.FromDays(30), nameof(MaxDuration), MaxDuration, "positive and at most 30 days");
        Check(MaxDecodeTime == Timeout.InfiniteTimeSpan || MaxDecodeTime > TimeSpan.Zero, nameof(MaxDecodeTime), MaxDecodeTime, "positive or Timeout.InfiniteTimeSpan");
        Check(MinBytesPerSecond is >= 1 and <= 1_000_000, nameof(MinBytesPerSecond), MinBytesPerSecond, "between 1 and 1,000,000");
        Check(ExtentAllowance >= TimeSpan.Zero && ExtentAllowance <= MaxDuration, nameof(ExtentAllowance), ExtentAllowance, "between 0 and MaxDuration");
        ArgumentNullException.ThrowIfNull(FormatWhitelist, nameof(FormatWhitelist));
        Check(FormatWhitelist.Count > 0 && FormatWhitelist.All(name => !string.IsNullOrWhiteSpace(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')),
            nameof(FormatWhitelist), string.Join(",", FormatWhitelist), "a non-empty list of FFmpeg demuxer names (letters, digits, '_')");
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }

    private static void Check(bool ok, string name, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException($"DecodeOptions.{name}", value, $"DecodeOptions.{name} is {value}; it must be {expected}.");
        }
    }
}
