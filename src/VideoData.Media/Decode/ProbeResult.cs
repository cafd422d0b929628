namespace VideoData.Media.Decode;

/// <summary>What the container says about a video, as <see cref="VideoDecoder.ProbeAsync(Stream, string, DecodeOptions?, CancellationToken)"/> found it.</summary>
/// <param name="Container">Demuxer name, e.g. <c>mov,mp4,m4a,3gp,3g2,mj2</c> or <c>matroska,webm</c>.</param>
/// <param name="Codec">Video codec name, e.g. <c>h264</c>.</param>
/// <param name="Profile">Codec profile, e.g. <c>High</c>; null when unknown.</param>
/// <param name="PixelFormat">Decoded pixel format, e.g. <c>yuv420p</c>; null when unknown.</param>
/// <param name="Width">Coded width in pixels.</param>
/// <param name="Height">Coded height in pixels.</param>
/// <param name="Rotation">Clockwise display rotation in degrees (0, 90, 180, 270, or another angle the metadata gives).</param>
/// <param name="DisplayWidth">Width after rotation (what the sampler treats as the frame width).</param>
/// <param name="DisplayHeight">Height after rotation.</param>
/// <param name="AverageFrameRate">Average frame rate in frames per second (0 when unknown).</param>
/// <param name="RealFrameRate">The stream's base ("real") frame rate, the lowest rate all timestamps fit (0 when unknown).</param>
/// <param name="Duration">Duration of the file, or null when the container does not say.</param>
/// <param name="FrameCount">Video frames the container lists, or null when it does not say (e.g. Matroska).</param>
/// <param name="AudioStreams">The audio streams.</param>
/// <param name="NvdecSupported">Whether NVDEC could decode it: a CUDA device exists and supports the codec (the profile is checked when decoding).</param>
/// <param name="NvdecDetail">"yes" or why not.</param>
public sealed record ProbeResult(
    string Container,
    string Codec,
    string? Profile,
    string? PixelFormat,
    int Width,
    int Height,
    double Rotation,
    int DisplayWidth,
    int DisplayHeight,
    double AverageFrameRate,
    double RealFrameRate,
    TimeSpan? Duration,
    long? FrameCount,
    IReadOnlyList<AudioStreamInfo> AudioStreams,
    bool NvdecSupported,
    string NvdecDetail);

/// <summary>One audio stream of a probed file.</summary>
/// <param name="Index">Stream index in the container.</param>
/// <param name="Codec">Codec name, e.g. <c>aac</c>.</param>
/// <param name="SampleRate">Samples per second.</param>
/// <param name="Channels">Channel count.</param>
public sealed record AudioStreamInfo(int Index, string Codec, int SampleRate, int Channels);
