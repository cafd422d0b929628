using System.Runtime.InteropServices;

namespace VideoData.Media.Native;

internal static unsafe partial class Interop
{
    internal static partial class AvFormat
    {
        internal const int MediaTypeVideo = 0;
        internal const int MediaTypeAudio = 1;
        internal const int PacketSideDataDisplayMatrix = 5;
        internal const int SeekSize = 0x10000;
        internal const int SeekForce = 0x20000;

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_version")]
        internal static partial uint Version();

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_alloc_context")]
        internal static partial AVFormatContext* AllocContext();

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_free_context")]
        internal static partial void FreeContext(AVFormatContext* context);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_open_input")]
        internal static partial int OpenInput(AVFormatContext** context, byte* url, void* format, void** options);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "av_probe_input_buffer2")]
        internal static partial int ProbeInputBuffer2(AVIOContext* io, AVInputFormat** format, byte* url, void* logContext, uint offset, uint maxProbeSize);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_find_stream_info")]
        internal static partial int FindStreamInfo(AVFormatContext* context, void** options);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avformat_close_input")]
        internal static partial void CloseInput(AVFormatContext** context);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "av_find_best_stream")]
        internal static partial int FindBestStream(AVFormatContext* context, int type, int wanted, int related, AVCodec** decoder, int flags);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "av_read_frame")]
        internal static partial int ReadFrame(AVFormatContext* context, AVPacket* packet);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avio_alloc_context")]
        internal static partial AVIOContext* IoAllocContext(
            byte* buffer,
            int bufferSize,
            int writeFlag,
            void* opaque,
            delegate* unmanaged<void*, byte*, int, int> read,
            void* write,
            delegate* unmanaged<void*, long, int, long> seek);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "avio_context_free")]
        internal static partial void IoContextFree(AVIOContext** context);

        [LibraryImport(Libraries.AvFormat, EntryPoint = "av_stream_get_side_data")]
        internal static partial byte* StreamGetSideData(AVStream* stream, int type, nuint* size);
    }
}
