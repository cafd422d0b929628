using System.Runtime.InteropServices;
using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// An opened decoder for the chosen video stream: libavcodec in software with frame and slice
/// threading, or NVDEC through the <c>cuda</c> hwaccel. Frames decoded on the GPU are downloaded
/// so callers always receive software frames.
/// </summary>
internal sealed unsafe class CodecSession : IDisposable
{
    private readonly CodecContextHandle _context;
    private readonly FrameHandle _hardwareFrame;

    private CodecSession(CodecContextHandle context, bool cuda)
    {
        _context = context;
        UsesCuda = cuda;
        _hardwareFrame = FrameHandle.Allocate();
    }

    public AVCodecContext* Context => _context.Pointer;

    public bool UsesCuda { get; }

    /// <summary>Whether NVDEC could decode this input, and why not.</summary>
    public static (bool Supported, string Detail) NvdecSupport(MediaInput input)
    {
        var device = FfmpegRuntime.CudaDeviceOrNull(out var reason);
        if (device is null)
        {
            return (false, $"no: cuda hwaccel not available: {reason}");
        }

        return Interop.AvCodec.SupportsHwDevice(input.Codec, Interop.AvUtil.HwDeviceTypeCuda)
            ? (true, "yes")
            : (false, $"no: NVDEC does not decode {Interop.AvCodec.CodecName(input.Video->codecpar->codec_id)}");
    }

    /// <summary>
    /// Opens the decoder the options ask for. <see cref="DecoderPreference.Cuda"/> without a usable
    /// CUDA device is an environment problem (<see cref="NativeDependencyException"/>: the worker is
    /// misconfigured, not the video bad); with a device but a codec NVDEC cannot decode it is a
    /// <c>decode</c> failure of this input.
    /// </summary>
    public static CodecSession Open(MediaInput input, DecodeOptions options, DecodeStatistics statistics)
    {
        BufferRefHandle? device = null;
        if (options.Decoder != DecoderPreference.Cpu)
        {
            device = FfmpegRuntime.CudaDeviceOrNull(out var reason);
            var codecSupported = device is not null && Interop.AvCodec.SupportsHwDevice(input.Codec, Interop.AvUtil.HwDeviceTypeCuda);
            var why = device is null
                ? $"cuda hwaccel not available: {reason}"
                : $"NVDEC does not decode {Interop.AvCodec.CodecName(input.Video->codecpar->codec_id)}";
            if (options.Decoder == DecoderPreference.Cuda && device is null)
            {
                throw new NativeDependencyException($"--decoder cuda was asked for, but the {why}. Use --decoder auto or cpu on machines without an NVIDIA GPU.");
            }

            if (!codecSupported)
            {
                if (options.Decoder == DecoderPreference.Cuda)
                {
                    throw new VideoDataException(FailureClass.Decode, $"{input.InputName}: --decoder cuda cannot be used: {why} (decode)");
                }

                statistics.FallbackReason = $"decoding on the CPU: {why}";
                device = null;
            }
        }

        var context = Interop.AvCodec.AllocContext(input.Codec);
        if (context is null)
        {
            throw new OutOfMemoryException("avcodec_alloc_context3 failed.");
        }

        var handle = new CodecContextHandle(context);
        try
        {
            FfmpegException.Check(Interop.AvCodec.ParametersToContext(context, input.Video->codecpar), FailureClass.Decode, input.InputName, "avcodec_parameters_to_context");
            context->pkt_timebase = input.TimeBase;
            context->framerate = input.Video->avg_frame_rate;
            if (device is not null)
            {
                context->hw_device_ctx = Interop.AvUtil.BufferRef(device.Pointer);
                context->get_format = &PreferCuda;
                context->thread_count = 1;
            }
            else
            {
                context->thread_count = options.Threads;
                context->thread_type = Interop.AvCodec.ThreadFrame | Interop.AvCodec.ThreadSlice;
            }

            FfmpegException.Check(Interop.AvCodec.Open(context, input.Codec, null), FailureClass.Decode, input.InputName, "avcodec_open2");
            statistics.Decoder = device is null ? "cpu" : "cuda";
            return new CodecSession(handle, device is not null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes <paramref name="frame"/> a software frame: downloads it from the GPU when NVDEC
    /// produced it (keeping timestamps and colour properties).
    /// </summary>
    public void Download(AVFrame* frame, string inputName)
    {
        if (frame->format != Interop.AvUtil.PixelFormatCuda)
        {
            return;
        }

        var hardware = _hardwareFrame.Pointer;
        Interop.AvUtil.FrameUnref(hardware);
        Interop.AvUtil.FrameMoveRef(hardware, frame);
        FfmpegException.Check(Interop.AvUtil.HwFrameTransferData(frame, hardware, 0), FailureClass.Decode, inputName, "av_hwframe_transfer_data");
        FfmpegException.Check(Interop.AvUtil.FrameCopyProps(frame, hardware), FailureClass.Decode, inputName, "av_frame_copy_props");
        Interop.AvUtil.FrameUnref(hardware);
    }

    public void Dispose()
    {
        _hardwareFrame.Dispose();
        _context.Dispose();
    }

    [UnmanagedCallersOnly]
    private static int PreferCuda(AVCodecContext* context, int* formats)
    {
        for (var format = formats; *format != Interop.AvUtil.PixelFormatNone; format++)
        {
            if (*format == Interop.AvUtil.PixelFormatCuda)
            {
                return *format;
            }
        }

        return Interop.AvCodec.DefaultGetFormat(context, formats);
    }
}
