namespace VideoData.Testing.Videos;

/// <summary>A video that <see cref="TestVideos"/> generates with the ffmpeg CLI.</summary>
/// <param name="FileName">File name in the cache folder; its extension picks the container.</param>
/// <param name="Arguments">ffmpeg arguments between the global options and the output path.</param>
/// <param name="Description">What is awkward about it, for test names and failure messages.</param>
public sealed record TestVideo(string FileName, IReadOnlyList<string> Arguments, string Description)
{
    /// <inheritdoc />
    public override string ToString() => FileName;
}

/// <summary>
/// The generated videos the decoding tests (and later stages) use: short (1–2 s) and small so a
/// 2-core CI run generates all of them in seconds. lavfi test sources only; no external media.
/// </summary>
public static class TestVideoCatalog
{
    private const string X264Fast = "-preset veryfast";

    /// <summary>H.264 25 fps 320×240, B-frames, moov at the end (ffmpeg's default for MP4).</summary>
    public static readonly TestVideo H264At25Fps = H264("h264_25fps.mp4", "testsrc2=size=320x240:rate=25:duration=2", "H.264 25 fps");

    /// <summary>H.264 29.97 fps (NTSC) 320×240.</summary>
    public static readonly TestVideo H264AtNtscRate = H264("h264_29.97fps.mp4", "testsrc2=size=320x240:rate=30000/1001:duration=2", "H.264 29.97 fps");

    /// <summary>H.264 30 fps 320×240.</summary>
    public static readonly TestVideo H264At30Fps = H264("h264_30fps.mp4", "testsrc2=size=320x240:rate=30:duration=2", "H.264 30 fps");

    /// <summary>H.264 60 fps 320×240 (half the frames are dropped).</summary>
    public static readonly TestVideo H264At60Fps = H264("h264_60fps.mp4", "testsrc2=size=320x240:rate=60:duration=1", "H.264 60 fps");

    /// <summary>H.264 in MP4 with the moov atom at the front (faststart).</summary>
    public static readonly TestVideo Faststart = new(
        "h264_faststart.mp4",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
        "moov at the front");

    /// <summary>Variable frame rate in Matroska (millisecond timestamps): 3 of every 5 frames kept.</summary>
    public static readonly TestVideo VariableFrameRate = new(
        "vfr.mkv",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-vf", "select='lt(mod(n\\,5)\\,3)'", "-fps_mode", "vfr", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p"],
        "variable frame rate (dropped frames)");

    /// <summary>Variable frame rate in MP4: timestamps jittered by up to ±13 ms.</summary>
    public static readonly TestVideo JitteredTimestamps = new(
        "jitter.mp4",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2", "-vf", "setpts='N/30/TB+0.013*sin(N*1.7)/TB'", "-fps_mode", "vfr", "-video_track_timescale", "90000", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p"],
        "variable frame rate (jittered timestamps)");

    /// <summary>Audio from 0 s, video starting at 0.37 s: the fps grid starts at the first video frame.</summary>
    public static readonly TestVideo VideoStartsLate = new(
        "offset.mkv",
        ["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-itsoffset", "0.37", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1.5",
            "-map", "1:v", "-map", "0:a", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p", "-c:a", "aac"],
        "video starts after the audio");

    /// <summary>Odd size 641×359 (VP9 in WebM, which allows odd 4:2:0 sizes).</summary>
    public static readonly TestVideo OddSizeVp9 = new(
        "odd_641x359.webm",
        ["-f", "lavfi", "-i", "testsrc2=size=641x359:rate=30:duration=1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-pix_fmt", "yuv420p"],
        "odd size, VP9");

    /// <summary>Portrait 240×426 H.264.</summary>
    public static readonly TestVideo Portrait = H264("portrait_240x426.mp4", "testsrc2=size=240x426:rate=30:duration=1", "portrait");

    /// <summary>320×240 coded, rotation metadata 90° (displayed 240×320).</summary>
    public static readonly TestVideo Rotated90 = Rotated(90);

    /// <summary>Rotation metadata 180°.</summary>
    public static readonly TestVideo Rotated180 = Rotated(180);

    /// <summary>Rotation metadata 270°.</summary>
    public static readonly TestVideo Rotated270 = Rotated(270);

    /// <summary>H.264 High 10 (yuv420p10le).</summary>
    public static readonly TestVideo H264High10 = new(
        "h264_high10.mp4",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p10le", "-profile:v", "high10"],
        "H.264 High 10-bit");

    /// <summary>Audio only (AAC in MP4): not a video.</summary>
    public static readonly TestVideo AudioOnly = new(
        "audio_only.m4a",
        ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"],
        "audio only");

    /// <summary>Every generated clip that decodes normally (the parity set).</summary>
    public static IReadOnlyList<TestVideo> Decodable { get; } =
    [
        H264At25Fps, H264AtNtscRate, H264At30Fps, H264At60Fps, Faststart, VariableFrameRate, JitteredTimestamps,
        VideoStartsLate, OddSizeVp9, Portrait, Rotated90, Rotated180, Rotated270, H264High10,
    ];

    private static TestVideo H264(string fileName, string source, string description) => new(
        fileName,
        ["-f", "lavfi", "-i", source, "-c:v", "libx264", .. X264Fast.Split(' '), "-bf", "2", "-g", "15", "-pix_fmt", "yuv420p"],
        description);

    private static TestVideo Rotated(int degrees) => new(
        $"rotate{degrees}.mp4",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1", "-c:v", "libx264", .. X264Fast.Split(' '), "-pix_fmt", "yuv420p", "-metadata:s:v:0", $"rotate={degrees}"],
        $"rotation {degrees}°");
}
