using System.Runtime.InteropServices;

namespace VideoData.Media.Native;

internal static unsafe partial class Interop
{
    internal static partial class AvCodec
    {
        internal const int ThreadFrame = 1;
        internal const int ThreadSlice = 2;
        internal const int HwConfigMethodHwDeviceContext = 1;

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_version")]
        internal static partial uint Version();

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_find_decoder")]
        internal static partial AVCodec* FindDecoder(int codecId);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_alloc_context3")]
        internal static partial AVCodecContext* AllocContext(AVCodec* codec);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_free_context")]
        internal static partial void FreeContext(AVCodecContext** context);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_parameters_to_context")]
        internal static partial int ParametersToContext(AVCodecContext* context, AVCodecParameters* parameters);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_open2")]
        internal static partial int Open(AVCodecContext* context, AVCodec* codec, void** options);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_send_packet")]
        internal static partial int SendPacket(AVCodecContext* context, AVPacket* packet);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_receive_frame")]
        internal static partial int ReceiveFrame(AVCodecContext* context, AVFrame* frame);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "av_packet_alloc")]
        internal static partial AVPacket* PacketAlloc();

        [LibraryImport(Libraries.AvCodec, EntryPoint = "av_packet_free")]
        internal static partial void PacketFree(AVPacket** packet);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "av_packet_unref")]
        internal static partial void PacketUnref(AVPacket* packet);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_get_hw_config")]
        internal static partial AVCodecHWConfig* GetHwConfig(AVCodec* codec, int index);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_default_get_format")]
        internal static partial int DefaultGetFormat(AVCodecContext* context, int* formats);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_profile_name")]
        internal static partial byte* ProfileName(int codecId, int profile);

        [LibraryImport(Libraries.AvCodec, EntryPoint = "avcodec_get_name")]
        internal static partial byte* GetName(int codecId);

        internal static string CodecName(int codecId) => AvUtil.Text(GetName(codecId), $"codec {codecId}");

        /// <summary>Whether the decoder can decode through a device context of the given hardware type.</summary>
        internal static bool SupportsHwDevice(AVCodec* codec, int deviceType)
        {
            for (var i = 0; ; i++)
            {
                var config = GetHwConfig(codec, i);
                if (config is null)
                {
                    return false;
                }

                if (config->device_type == deviceType && (config->methods & HwConfigMethodHwDeviceContext) != 0)
                {
                    return true;
                }
            }
        }
    }
}
