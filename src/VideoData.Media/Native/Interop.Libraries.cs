namespace VideoData.Media.Native;

internal static partial class Interop
{
    /// <summary>
    /// The logical library names used by the <c>LibraryImport</c> declarations. They are never
    /// probed directly: <see cref="FfmpegRuntime"/> installs a resolver that maps each one to the
    /// FFmpeg 5.1 soname and refuses other major versions.
    /// </summary>
    internal static class Libraries
    {
        internal const string AvUtil = "videodata-avutil";
        internal const string AvCodec = "videodata-avcodec";
        internal const string AvFormat = "videodata-avformat";
        internal const string SwScale = "videodata-swscale";
    }
}
