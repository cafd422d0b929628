using System.Runtime.InteropServices;
using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// An opened container with its best video stream chosen and checked against the option bounds.
/// Owns the AVIO context and the format context; used from one thread at a time.
/// </summary>
internal sealed unsafe class MediaInput : IDisposable
{
    private static readonly AVRational Microseconds = new(1, 1_000_000);
    private readonly StreamIo _io;
    private readonly FormatContextHandle _format;
    private GCHandle _abortHandle;

    private MediaInput(StreamIo io, FormatContextHandle format, GCHandle abortHandle, string inputName)
    {
        _io = io;
        _format = format;
        _abortHandle = abortHandle;
        InputName = inputName;
    }

    public string InputName { get; }

    public AVFormatContext* Format => _format.Pointer;

    public AVStream* Video { get; private set; }

    public AVCodec* Codec { get; private set; }

    public int VideoIndex => Video->index;

    public AVRational TimeBase => Video->time_base;

    /// <summary>Clockwise rotation in degrees, normalised as the ffmpeg CLI does (0 ≤ θ &lt; 360).</summary>
    public double Rotation { get; private set; }

    public int DisplayWidth => QuarterTurns % 2 == 1 ? Video->codecpar->height : Video->codecpar->width;

    public int DisplayHeight => QuarterTurns % 2 == 1 ? Video->codecpar->width : Video->codecpar->height;

    /// <summary>Rotation in clockwise quarter turns, or -1 when it is not a multiple of 90°.</summary>
    public int QuarterTurns => Math.Abs(Rotation) < 1 ? 0
        : Math.Abs(Rotation - 90) < 1 ? 1
        : Math.Abs(Rotation - 180) < 1 ? 2
        : Math.Abs(Rotation - 270) < 1 ? 3
        : -1;

    /// <summary>
    /// The offset the ffmpeg CLI adds to every timestamp of this stream: minus the file's start
    /// time, in the stream's time base.
    /// </summary>
    public long TimestampOffset => Format->start_time == Interop.AvUtil.NoPtsValue
        ? 0
        : Interop.AvUtil.RescaleQ(-Format->start_time, Microseconds, TimeBase);

    public Exception? IoFailure => _io.Failure;

    /// <summary>The declared duration of the file, or null when unknown.</summary>
    public TimeSpan? Duration => Format->duration > 0 ? TimeSpan.FromTicks(Format->duration * 10) : StreamDuration;

    private TimeSpan? StreamDuration => Video->duration > 0 && Video->time_base.den > 0
        ? TimeSpan.FromSeconds(Video->duration * Video->time_base.ToDouble())
        : null;

    /// <summary>Opens the container, reads stream info and picks the video stream; failures are <c>probe</c> class.</summary>
    public static MediaInput Open(Stream stream, string inputName, DecodeOptions options, AbortSignal abort, CancellationToken cancellationToken)
    {
        var io = new StreamIo(stream, cancellationToken);
        var abortHandle = GCHandle.Alloc(abort);
        AVFormatContext* format = null;
        MediaInput? input = null;
        try
        {
            format = Interop.AvFormat.AllocContext();
            if (format is null)
            {
                throw new OutOfMemoryException("avformat_alloc_context failed.");
            }

            format->pb = io.Context;
            format->interrupt_callback.callback = &Interrupted;
            format->interrupt_callback.opaque = (void*)GCHandle.ToIntPtr(abortHandle);
            var name = System.Text.Encoding.UTF8.GetBytes(inputName + "\0");
            int result;
            void* dictionary = null;
            try
            {
                // Inputs are untrusted: a playlist-like container (HLS, DASH, concat) must not make
                // FFmpeg open other files or URLs. The input itself comes through our AVIO context,
                // so no protocol is needed at all.
                fixed (byte* key = "protocol_whitelist\0"u8, value = "none\0"u8)
                {
                    FfmpegException.Check(Interop.AvUtil.DictSet(&dictionary, key, value, 0), FailureClass.Probe, inputName, "av_dict_set");
                }

                // Only the demuxers a video corpus needs run on untrusted bytes (DecodeOptions.FormatWhitelist). The
                // container is detected here exactly as avformat_open_input would (same function, same probe size), so
                // a refusal names the format found; FFmpeg's own format_whitelist then enforces the same list.
                var whitelist = System.Text.Encoding.ASCII.GetBytes(string.Join(',', options.FormatWhitelist) + "\0");
                fixed (byte* key = "format_whitelist\0"u8, value = whitelist)
                {
                    FfmpegException.Check(Interop.AvUtil.DictSet(&dictionary, key, value, 0), FailureClass.Probe, inputName, "av_dict_set");
                }

                AVInputFormat* detected = null;
                fixed (byte* url = name)
                {
                    var probed = Interop.AvFormat.ProbeInputBuffer2(io.Context, &detected, url, null, 0, 0);
                    abort.ThrowIfAborted();
                    ThrowIfIoFailed(io, inputName);
                    FfmpegException.Check(probed, FailureClass.Probe, inputName, "av_probe_input_buffer2");
                    var formatName = Interop.AvUtil.Text(detected->name, "unknown");
                    if (!IsWhitelisted(formatName, options.FormatWhitelist))
                    {
                        throw new VideoDataException(FailureClass.Probe,
                            $"{inputName}: container format '{formatName}' is not accepted (FormatWhitelist: {string.Join(",", options.FormatWhitelist)}) (probe)");
                    }

                    // On failure avformat_open_input frees the context and nulls the pointer.
                    result = Interop.AvFormat.OpenInput(&format, url, detected, &dictionary);
                }
            }
            finally
            {
                Interop.AvUtil.DictFree(&dictionary);
            }

            abort.ThrowIfAborted();
            ThrowIfIoFailed(io, inputName);
            FfmpegException.Check(result, FailureClass.Probe, inputName, "avformat_open_input");
            input = new MediaInput(io, new FormatContextHandle(format), abortHandle, inputName);
            format = null;
            input.SelectVideoStream(options, abort);
            return input;
        }
        catch
        {
            if (input is not null)
            {
                input.Dispose();
            }
            else
            {
                if (format is not null)
                {
                    Interop.AvFormat.FreeContext(format);
                }

                io.Dispose();
                abortHandle.Free();
            }

            throw;
        }
    }

    /// <summary>Whether any of a demuxer's comma-separated names (e.g. <c>mov,mp4,m4a,3gp,3g2,mj2</c>) is in <paramref name="whitelist"/>.</summary>
    internal static bool IsWhitelisted(string demuxerNames, IReadOnlyList<string> whitelist) =>
        demuxerNames.Split(',').Any(name => whitelist.Contains(name, StringComparer.Ordinal));

    /// <summary>Bytes the input is known to hold: its length when the stream can tell, else what has been read so far.</summary>
    public long KnownBytes => Math.Max(_io.BytesRead, _io.Length ?? 0);

    public void Dispose()
    {
        _format.Dispose();
        _io.Dispose();
        if (_abortHandle.IsAllocated)
        {
            _abortHandle.Free();
        }
    }

    /// <summary>Turns a stream exception seen by the read callback into the right failure.</summary>
    public static void ThrowIfIoFailed(StreamIo io, string inputName)
    {
        if (io.Failure is VideoDataException failure)
        {
            throw failure;
        }

        if (io.Failure is { } e and not OperationCanceledException)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{inputName}: reading the input failed: {e.Message} (fetch)", e);
        }
    }

    public void ThrowIfIoFailed() => ThrowIfIoFailed(_io, InputName);

    public ProbeResult Describe(bool nvdecSupported, string nvdecDetail)
    {
        var parameters = Video->codecpar;
        var audio = new List<AudioStreamInfo>();
        for (var i = 0; i < Format->nb_streams; i++)
        {
            var stream = Format->streams[i];
            if (stream->codecpar->codec_type == Interop.AvFormat.MediaTypeAudio)
            {
                audio.Add(new AudioStreamInfo(i, Interop.AvCodec.CodecName(stream->codecpar->codec_id), stream->codecpar->sample_rate, stream->codecpar->ch_layout__nb_channels));
            }
        }

        var profile = Interop.AvCodec.ProfileName(parameters->codec_id, parameters->profile);
        return new ProbeResult(
            Interop.AvUtil.Text(Format->iformat->name, "unknown"),
            Interop.AvCodec.CodecName(parameters->codec_id),
            profile is null ? null : Interop.AvUtil.Text(profile),
            parameters->format < 0 ? null : Interop.AvUtil.PixelFormatName(parameters->format),
            parameters->width,
            parameters->height,
            Rotation,
            DisplayWidth,
            DisplayHeight,
            Video->avg_frame_rate.ToDouble(),
            Video->r_frame_rate.ToDouble(),
            Duration,
            Video->nb_frames > 0 ? Video->nb_frames : null,
            audio,
            nvdecSupported,
            nvdecDetail);
    }

    private void SelectVideoStream(DecodeOptions options, AbortSignal abort)
    {
        var result = Interop.AvFormat.FindStreamInfo(Format, null);
        abort.ThrowIfAborted();
        ThrowIfIoFailed();
        FfmpegException.Check(result, FailureClass.Probe, InputName, "avformat_find_stream_info");

        AVCodec* codec = null;
        var index = Interop.AvFormat.FindBestStream(Format, Interop.AvFormat.MediaTypeVideo, -1, -1, &codec, 0);
        if (index < 0)
        {
            var what = $" ({Interop.AvUtil.ErrorText(index)})";
            throw new FfmpegException(FailureClass.Probe, $"{InputName}: no decodable video stream{what}; {DescribeStreams()} (probe)", index, "av_find_best_stream");
        }

        Video = Format->streams[index];
        Codec = codec;
        var parameters = Video->codecpar;
        if (parameters->width <= 0 || parameters->height <= 0)
        {
            throw new VideoDataException(FailureClass.Probe, $"{InputName}: the video stream has no frame size ({parameters->width}×{parameters->height}) (probe)");
        }

        if (parameters->width > options.MaxWidth || parameters->height > options.MaxHeight)
        {
            throw new VideoDataException(FailureClass.Probe,
                $"{InputName}: {parameters->width}×{parameters->height} pixels exceeds the limit of {options.MaxWidth}×{options.MaxHeight} (MaxWidth/MaxHeight) (probe)");
        }

        if (Duration is { } duration && duration > options.MaxDuration)
        {
            throw new VideoDataException(FailureClass.Probe,
                $"{InputName}: declared duration {duration} exceeds the limit of {options.MaxDuration} (MaxDuration) (probe)");
        }

        if (Video->time_base.num <= 0 || Video->time_base.den <= 0)
        {
            throw new VideoDataException(FailureClass.Probe, $"{InputName}: the video stream has no time base (probe)");
        }

        Rotation = ReadRotation(Video);
    }

    private string DescribeStreams()
    {
        if (Format->nb_streams == 0)
        {
            return "the container has no streams";
        }

        var kinds = new List<string>();
        for (var i = 0; i < Format->nb_streams; i++)
        {
            var parameters = Format->streams[i]->codecpar;
            var kind = parameters->codec_type switch
            {
                Interop.AvFormat.MediaTypeVideo => "video",
                Interop.AvFormat.MediaTypeAudio => "audio",
                3 => "subtitle",
                _ => "data",
            };
            kinds.Add($"{kind} ({Interop.AvCodec.CodecName(parameters->codec_id)})");
        }

        return $"streams: {string.Join(", ", kinds)}";
    }

    /// <summary>The display rotation as the ffmpeg CLI computes it for autorotation.</summary>
    private static double ReadRotation(AVStream* stream)
    {
        nuint size = 0;
        var matrix = Interop.AvFormat.StreamGetSideData(stream, Interop.AvFormat.PacketSideDataDisplayMatrix, &size);
        if (matrix is null || size < 36)
        {
            return 0;
        }

        var theta = -Math.Round(Interop.AvUtil.DisplayRotationGet((int*)matrix));
        if (double.IsNaN(theta))
        {
            return 0;
        }

        theta -= 360 * Math.Floor((theta / 360) + (0.9 / 360));
        return theta;
    }

    [UnmanagedCallersOnly]
    private static int Interrupted(void* opaque) =>
        ((AbortSignal)GCHandle.FromIntPtr((nint)opaque).Target!).IsAborted ? 1 : 0;
}

/// <summary>Set by the watchdog (or cancellation) to stop blocking FFmpeg I/O through the interrupt callback.</summary>
internal sealed class AbortSignal
{
    private volatile Exception? _reason;

    public bool IsAborted => _reason is not null;

    public Exception? Reason => _reason;

    public void Abort(Exception reason) => Interlocked.CompareExchange(ref _reason, reason, null);

    public void ThrowIfAborted()
    {
        if (_reason is { } reason)
        {
            throw reason;
        }
    }
}
