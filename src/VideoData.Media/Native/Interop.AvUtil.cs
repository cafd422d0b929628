using System.Runtime.InteropServices;

namespace VideoData.Media.Native;

internal static unsafe partial class Interop
{
    internal static partial class AvUtil
    {
        internal const long NoPtsValue = long.MinValue;
        internal const int ErrorEof = -541478725;
        internal const int ErrorAgain = -11;
        internal const int ErrorInvalidData = -1094995529;
        internal const int ErrorExit = -1414092869;
        internal const int ErrorIo = -5;
        internal const int ErrorNoMemory = -12;
        internal const int RoundNearInf = 5;
        internal const int RoundPassMinMax = 8192;
        internal const int LogQuiet = -8;
        internal const int PixelFormatNone = -1;
        internal const int PixelFormatYuv420P = 0;
        internal const int PixelFormatRgb24 = 2;
        internal const int PixelFormatYuv422P = 4;
        internal const int PixelFormatYuvj420P = 12;
        internal const int PixelFormatCuda = 117;
        internal const int HwDeviceTypeNone = 0;
        internal const int HwDeviceTypeCuda = 2;
        internal const ulong PixelFormatFlagBitstream = 1 << 2;
        internal const ulong PixelFormatFlagHwAccel = 1 << 3;
        internal const ulong PixelFormatFlagPalette = 1 << 1;
        internal const int ColorRangeUnspecified = 0;
        internal const int ColorRangeJpeg = 2;
        internal const int FrameFlagCorrupt = 1;

        [LibraryImport(Libraries.AvUtil, EntryPoint = "avutil_version")]
        internal static partial uint Version();

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_version_info")]
        internal static partial byte* VersionInfo();

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_strerror")]
        internal static partial int StrError(int errnum, byte* buffer, nuint size);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_log_set_level")]
        internal static partial void LogSetLevel(int level);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_dict_set")]
        internal static partial int DictSet(void** dictionary, byte* key, byte* value, int flags);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_dict_free")]
        internal static partial void DictFree(void** dictionary);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_malloc")]
        internal static partial void* Malloc(nuint size);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_free")]
        internal static partial void Free(void* pointer);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_alloc")]
        internal static partial AVFrame* FrameAlloc();

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_free")]
        internal static partial void FrameFree(AVFrame** frame);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_unref")]
        internal static partial void FrameUnref(AVFrame* frame);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_move_ref")]
        internal static partial void FrameMoveRef(AVFrame* destination, AVFrame* source);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_get_buffer")]
        internal static partial int FrameGetBuffer(AVFrame* frame, int align);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_frame_copy_props")]
        internal static partial int FrameCopyProps(AVFrame* destination, AVFrame* source);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_rescale_q_rnd")]
        internal static partial long RescaleQRnd(long value, AVRational from, AVRational to, int rounding);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_rescale_q")]
        internal static partial long RescaleQ(long value, AVRational from, AVRational to);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_display_rotation_get")]
        internal static partial double DisplayRotationGet(int* matrix);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_hwdevice_ctx_create")]
        internal static partial int HwDeviceContextCreate(AVBufferRef** deviceContext, int type, byte* device, void* options, int flags);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_hwdevice_find_type_by_name")]
        internal static partial int HwDeviceFindTypeByName(byte* name);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_hwframe_transfer_data")]
        internal static partial int HwFrameTransferData(AVFrame* destination, AVFrame* source, int flags);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_buffer_ref")]
        internal static partial AVBufferRef* BufferRef(AVBufferRef* buffer);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_buffer_unref")]
        internal static partial void BufferUnref(AVBufferRef** buffer);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_get_pix_fmt_name")]
        internal static partial byte* GetPixelFormatName(int format);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_pix_fmt_desc_get")]
        internal static partial AVPixFmtDescriptor* PixelFormatDescriptorGet(int format);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_pix_fmt_count_planes")]
        internal static partial int PixelFormatCountPlanes(int format);

        [LibraryImport(Libraries.AvUtil, EntryPoint = "av_image_fill_linesizes")]
        internal static partial int ImageFillLinesizes(int* linesizes, int format, int width);

        /// <summary>av_strerror's text for an FFmpeg error code.</summary>
        internal static string ErrorText(int errorCode)
        {
            const int Size = 256;
            var buffer = stackalloc byte[Size];
            return StrError(errorCode, buffer, Size) < 0
                ? $"unknown FFmpeg error {errorCode}"
                : Marshal.PtrToStringUTF8((nint)buffer) ?? $"FFmpeg error {errorCode}";
        }

        /// <summary>A C string owned by FFmpeg, copied; null pointers become <paramref name="fallback"/>.</summary>
        internal static string Text(byte* value, string fallback = "") =>
            value is null ? fallback : Marshal.PtrToStringUTF8((nint)value) ?? fallback;

        internal static string VersionInfoText() => Text(VersionInfo(), "unknown");

        internal static string PixelFormatName(int format) => Text(GetPixelFormatName(format), $"pix_fmt {format}");
    }
}
