using System.Runtime.InteropServices;

// The FFmpeg 5.1 (libavformat 59, libavcodec 59, libavutil 57) structures, reduced to the fields
// this binding reads or writes. Field names are the C names so that NativeLayoutTests can check
// every FieldOffset against offsetof() compiled from the installed headers ("a__b" is C's "a.b").
#pragma warning disable CA1051, IDE1006, SA1307, SA1310, CS0649

namespace VideoData.Media.Native;

[StructLayout(LayoutKind.Sequential)]
internal readonly record struct AVRational(int num, int den)
{
    public double ToDouble() => den == 0 ? 0 : (double)num / den;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVFormatContext
{
    [FieldOffset(8)] public AVInputFormat* iformat;
    [FieldOffset(32)] public AVIOContext* pb;
    [FieldOffset(44)] public uint nb_streams;
    [FieldOffset(48)] public AVStream** streams;
    [FieldOffset(64)] public long start_time;
    [FieldOffset(72)] public long duration;
    [FieldOffset(80)] public long bit_rate;
    [FieldOffset(96)] public int flags;
    [FieldOffset(200)] public AVIOInterruptCB interrupt_callback;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct AVIOInterruptCB
{
    [FieldOffset(0)] public delegate* unmanaged<void*, int> callback;
    [FieldOffset(8)] public void* opaque;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVInputFormat
{
    [FieldOffset(0)] public byte* name;
    [FieldOffset(8)] public byte* long_name;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVStream
{
    [FieldOffset(0)] public int index;
    [FieldOffset(16)] public AVRational time_base;
    [FieldOffset(24)] public long start_time;
    [FieldOffset(32)] public long duration;
    [FieldOffset(40)] public long nb_frames;
    [FieldOffset(52)] public int discard;
    [FieldOffset(72)] public AVRational avg_frame_rate;
    [FieldOffset(200)] public AVRational r_frame_rate;
    [FieldOffset(208)] public AVCodecParameters* codecpar;
}

[StructLayout(LayoutKind.Explicit)]
internal struct AVCodecParameters
{
    [FieldOffset(0)] public int codec_type;
    [FieldOffset(4)] public int codec_id;
    [FieldOffset(28)] public int format;
    [FieldOffset(32)] public long bit_rate;
    [FieldOffset(48)] public int profile;
    [FieldOffset(56)] public int width;
    [FieldOffset(60)] public int height;
    [FieldOffset(76)] public int color_range;
    [FieldOffset(88)] public int color_space;
    [FieldOffset(116)] public int sample_rate;
    [FieldOffset(148)] public int ch_layout__nb_channels;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVCodecContext
{
    [FieldOffset(48)] public void* opaque;
    [FieldOffset(108)] public int ticks_per_frame;
    [FieldOffset(136)] public int pix_fmt;
    [FieldOffset(152)] public delegate* unmanaged<AVCodecContext*, int*, int> get_format;
    [FieldOffset(636)] public int thread_count;
    [FieldOffset(640)] public int thread_type;
    [FieldOffset(712)] public AVRational framerate;
    [FieldOffset(724)] public AVRational pkt_timebase;
    [FieldOffset(872)] public AVBufferRef* hw_device_ctx;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVFrame
{
    [FieldOffset(0)] public fixed long data[8];
    [FieldOffset(64)] public fixed int linesize[8];
    [FieldOffset(104)] public int width;
    [FieldOffset(108)] public int height;
    [FieldOffset(116)] public int format;
    [FieldOffset(136)] public long pts;
    [FieldOffset(316)] public int flags;
    [FieldOffset(320)] public int color_range;
    [FieldOffset(332)] public int colorspace;
    [FieldOffset(344)] public long best_effort_timestamp;
    [FieldOffset(360)] public long pkt_duration;
    [FieldOffset(376)] public int decode_error_flags;
    [FieldOffset(392)] public AVBufferRef* hw_frames_ctx;
}

[StructLayout(LayoutKind.Explicit)]
internal struct AVPacket
{
    [FieldOffset(8)] public long pts;
    [FieldOffset(16)] public long dts;
    [FieldOffset(36)] public int stream_index;
    [FieldOffset(40)] public int flags;
    [FieldOffset(64)] public long duration;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVIOContext
{
    [FieldOffset(8)] public byte* buffer;
}

[StructLayout(LayoutKind.Explicit)]
internal struct AVCodecHWConfig
{
    [FieldOffset(0)] public int pix_fmt;
    [FieldOffset(4)] public int methods;
    [FieldOffset(8)] public int device_type;
}

[StructLayout(LayoutKind.Explicit)]
internal unsafe struct AVPixFmtDescriptor
{
    [FieldOffset(0)] public byte* name;
    [FieldOffset(8)] public byte nb_components;
    [FieldOffset(9)] public byte log2_chroma_w;
    [FieldOffset(10)] public byte log2_chroma_h;
    [FieldOffset(16)] public ulong flags;
}

/// <summary>Opaque: only ever handled by pointer.</summary>
internal struct AVCodec
{
}

/// <summary>Opaque: only ever handled by pointer.</summary>
internal struct AVBufferRef
{
}
