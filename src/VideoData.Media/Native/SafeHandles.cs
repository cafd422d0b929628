using System.Runtime.InteropServices;

namespace VideoData.Media.Native;

/// <summary>Owns an opened AVFormatContext; releasing closes the input (custom I/O is freed by its own handle).</summary>
internal sealed unsafe class FormatContextHandle : SafeHandle
{
    public FormatContextHandle(AVFormatContext* context)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)context);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVFormatContext* Pointer => (AVFormatContext*)handle;

    protected override bool ReleaseHandle()
    {
        var context = (AVFormatContext*)handle;
        Interop.AvFormat.CloseInput(&context);
        return true;
    }
}

/// <summary>Owns an AVCodecContext; releasing frees it (and its reference to any hardware device).</summary>
internal sealed unsafe class CodecContextHandle : SafeHandle
{
    public CodecContextHandle(AVCodecContext* context)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)context);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVCodecContext* Pointer => (AVCodecContext*)handle;

    protected override bool ReleaseHandle()
    {
        var context = (AVCodecContext*)handle;
        Interop.AvCodec.FreeContext(&context);
        return true;
    }
}

/// <summary>Owns an AVFrame; releasing unreferences its buffers and frees it.</summary>
internal sealed unsafe class FrameHandle : SafeHandle
{
    private FrameHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVFrame* Pointer => (AVFrame*)handle;

    public static FrameHandle Allocate()
    {
        var frame = new FrameHandle();
        frame.SetHandle((nint)Interop.AvUtil.FrameAlloc());
        return frame.IsInvalid ? throw new OutOfMemoryException("av_frame_alloc failed.") : frame;
    }

    protected override bool ReleaseHandle()
    {
        var frame = (AVFrame*)handle;
        Interop.AvUtil.FrameFree(&frame);
        return true;
    }
}

/// <summary>Owns an AVPacket; releasing unreferences its data and frees it.</summary>
internal sealed unsafe class PacketHandle : SafeHandle
{
    private PacketHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVPacket* Pointer => (AVPacket*)handle;

    public static PacketHandle Allocate()
    {
        var packet = new PacketHandle();
        packet.SetHandle((nint)Interop.AvCodec.PacketAlloc());
        return packet.IsInvalid ? throw new OutOfMemoryException("av_packet_alloc failed.") : packet;
    }

    protected override bool ReleaseHandle()
    {
        var packet = (AVPacket*)handle;
        Interop.AvCodec.PacketFree(&packet);
        return true;
    }
}

/// <summary>Owns a SwsContext; releasing frees it.</summary>
internal sealed unsafe class ScaleContextHandle : SafeHandle
{
    public ScaleContextHandle(void* context)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)context);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public void* Pointer => (void*)handle;

    protected override bool ReleaseHandle()
    {
        Interop.SwScale.FreeContext((void*)handle);
        return true;
    }
}

/// <summary>Owns one reference to an AVBufferRef (e.g. a hardware device context); releasing unreferences it.</summary>
internal sealed unsafe class BufferRefHandle : SafeHandle
{
    public BufferRefHandle(AVBufferRef* buffer)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)buffer);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVBufferRef* Pointer => (AVBufferRef*)handle;

    protected override bool ReleaseHandle()
    {
        var buffer = (AVBufferRef*)handle;
        Interop.AvUtil.BufferUnref(&buffer);
        return true;
    }
}

/// <summary>Owns a custom AVIOContext and its I/O buffer (which FFmpeg may have replaced); releasing frees both.</summary>
internal sealed unsafe class IoContextHandle : SafeHandle
{
    public IoContextHandle(AVIOContext* context)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)context);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public AVIOContext* Pointer => (AVIOContext*)handle;

    protected override bool ReleaseHandle()
    {
        var context = (AVIOContext*)handle;
        Interop.AvUtil.Free(context->buffer);
        context->buffer = null;
        Interop.AvFormat.IoContextFree(&context);
        return true;
    }
}
