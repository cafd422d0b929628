namespace VideoData.Media;

/// <summary>What <see cref="FfmpegRuntime.Inspect"/> found: the FFmpeg libraries and the hardware decoders.</summary>
/// <param name="Libraries">One entry per required library, in load order (libavutil, libavcodec, libavformat, libswscale).</param>
/// <param name="FfmpegVersion">FFmpeg's own version string (<c>av_version_info</c>), e.g. <c>5.1.9-0+deb12u1</c>; null when libavutil did not load.</param>
/// <param name="Cuda">Whether decoding through the <c>cuda</c> hwaccel (NVDEC) is usable here.</param>
public sealed record FfmpegRuntimeReport(
    IReadOnlyList<FfmpegLibraryStatus> Libraries,
    string? FfmpegVersion,
    HardwareDecoderStatus Cuda)
{
    /// <summary>True when every library loaded with the expected major version, i.e. CPU decoding works.</summary>
    public bool Ok => Libraries.All(library => library.Ok);
}

/// <summary>One FFmpeg library as the loader found it.</summary>
/// <param name="Name">Library name, e.g. <c>libavcodec</c>.</param>
/// <param name="Soname">The soname looked up, e.g. <c>libavcodec.so.59</c>.</param>
/// <param name="ResolvedPath">The file that was loaded, or null when nothing loaded.</param>
/// <param name="Version">The library's version as <c>major.minor.micro</c>, or null when it did not load.</param>
/// <param name="ExpectedMajor">The major version this binding is written for.</param>
/// <param name="FoundMajor">The major version found, or null when nothing loaded.</param>
/// <param name="Ok">Loaded and of the expected major version.</param>
/// <param name="Detail">What was tried and, when not ok, what is wrong and how to install it.</param>
public sealed record FfmpegLibraryStatus(
    string Name,
    string Soname,
    string? ResolvedPath,
    string? Version,
    int ExpectedMajor,
    int? FoundMajor,
    bool Ok,
    string Detail);

/// <summary>Whether a hardware decoder can be used.</summary>
/// <param name="Name">The FFmpeg hwaccel name, e.g. <c>cuda</c>.</param>
/// <param name="Available">A device of this type could be created.</param>
/// <param name="Detail">"available" or why not (FFmpeg's error text and what is missing).</param>
public sealed record HardwareDecoderStatus(string Name, bool Available, string Detail);
