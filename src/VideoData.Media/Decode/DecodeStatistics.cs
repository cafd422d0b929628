namespace VideoData.Media.Decode;

/// <summary>
/// What happened during one decode. Pass an instance to <see cref="VideoDecoder.DecodeAsync(Stream, string, DecodeOptions, DecodeStatistics, CancellationToken)"/>;
/// it is filled by the decoding thread and complete once the enumeration has finished (read it
/// after that, not during).
/// </summary>
public sealed class DecodeStatistics
{
    /// <summary>The decoder actually used: <c>cpu</c> or <c>cuda</c>.</summary>
    public string Decoder { get; internal set; } = "cpu";

    /// <summary>Why <see cref="DecoderPreference.Auto"/> (or NVDEC itself) fell back to the CPU; null when it did not.</summary>
    public string? FallbackReason { get; internal set; }

    /// <summary>Video packets read from the container.</summary>
    public long PacketsRead { get; internal set; }

    /// <summary>Frames the decoder returned.</summary>
    public long FramesDecoded { get; internal set; }

    /// <summary>Frames emitted on the output grid (after the fps resampling).</summary>
    public long FramesOutput { get; internal set; }

    /// <summary>Packets the decoder rejected plus frames it flagged corrupt; decoding continues past them, as ffmpeg does.</summary>
    public long DecodeErrors { get; internal set; }

    /// <summary>The text of the last decode error counted in <see cref="DecodeErrors"/>, if any.</summary>
    public string? LastDecodeError { get; internal set; }
}
