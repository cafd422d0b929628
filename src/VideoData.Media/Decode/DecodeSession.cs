using System.Threading.Channels;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// One decode, run on a dedicated thread: demux, decode (continuing past corrupt packets as the
/// ffmpeg CLI does), resample to the fps grid with the CLI's timestamp rules, convert and crop,
/// and write one-second <see cref="FrameChunk"/>s to a bounded channel. Records progress for the
/// watchdog; time spent waiting for the consumer, or for a turn on the cores, does not count as a stall.
/// Budgets kept here: output frames never exceed <see cref="DecodeOptions.MaxDuration"/> nor the extent budget
/// (<see cref="DecodeOptions.ExtentAllowance"/> plus one second per <see cref="DecodeOptions.MinBytesPerSecond"/> bytes of
/// input), checked before a run of repeated frames is emitted; <see cref="WorkingTime"/> feeds the watchdog's
/// <see cref="DecodeOptions.MaxDecodeTime"/>.
/// </summary>
internal sealed unsafe class DecodeSession
{
    private static readonly AVRational Microseconds = new(1, 1_000_000);
    private readonly Stream _stream;
    private readonly string _inputName;
    private readonly DecodeOptions _options;
    private readonly DecodeStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly long _started;
    private long _lastProgress;
    private long _waitedTicks;
    private long _waitStarted;
    private MediaInput? _input;
    private volatile bool _waiting;
    private volatile bool _finished;

    public DecodeSession(Stream stream, string inputName, DecodeOptions options, DecodeStatistics statistics)
    {
        _stream = stream;
        _inputName = inputName;
        _options = options;
        _statistics = statistics;
        _time = options.TimeProvider;
        _started = _time.GetTimestamp();
        Touch();
    }

    public AbortSignal Abort { get; } = new();

    /// <summary>Whether the decode has been working without progress for longer than <paramref name="timeout"/>.</summary>
    public bool IsStalled(TimeSpan timeout) =>
        !_finished && !_waiting && _time.GetElapsedTime(Interlocked.Read(ref _lastProgress)) > timeout;

    /// <summary>Wall-clock time this decode has spent working: since it started, less its waits for the consumer or for a turn.</summary>
    public TimeSpan WorkingTime
    {
        get
        {
            var waited = Interlocked.Read(ref _waitedTicks);
            if (_waiting)
            {
                waited += _time.GetElapsedTime(Interlocked.Read(ref _waitStarted)).Ticks;
            }

            return _time.GetElapsedTime(_started) - TimeSpan.FromTicks(waited);
        }
    }

    /// <summary>Whether the decode is still running (the watchdog's budgets apply only then).</summary>
    public bool IsFinished => _finished;

    private void BeginWait()
    {
        Interlocked.Exchange(ref _waitStarted, _time.GetTimestamp());
        _waiting = true;
    }

    private void EndWait()
    {
        Interlocked.Add(ref _waitedTicks, _time.GetElapsedTime(Interlocked.Read(ref _waitStarted)).Ticks);
        _waiting = false;
        Touch();
    }

    /// <summary>Decodes everything into <paramref name="writer"/> and completes it, with the failure if there is one.</summary>
    public void Run(ChannelWriter<FrameChunk> writer, CancellationToken cancellationToken)
    {
        try
        {
            RunCore(writer, cancellationToken);
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(Abort.Reason ?? e);
        }
        finally
        {
            _finished = true;
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());

    private void RunCore(ChannelWriter<FrameChunk> writer, CancellationToken cancellationToken)
    {
        using var input = MediaInput.Open(_stream, _inputName, _options, Abort, cancellationToken);
        _input = input;
        Touch();
        if (input.QuarterTurns < 0)
        {
            throw new VideoDataException(FailureClass.Decode, $"{_inputName}: display rotation of {input.Rotation}° is not supported (only multiples of 90°) (decode)");
        }

        using var codec = CodecSession.Open(input, _options, _statistics);
        var geometry = ScaleGeometry.For(input.DisplayWidth, input.DisplayHeight, _options.Size);
        using var converter = new FrameConverter(geometry, input.QuarterTurns, _inputName, _options.SinglePassConversion);
        using var packet = PacketHandle.Allocate();
        using var frame = FrameHandle.Allocate();
        using var pending = FrameHandle.Allocate();
        var output = new ChunkAssembler(this, writer, _options, cancellationToken);
        try
        {
            var state = new TimelineState(input.TimeBase, new AVRational(1, _options.Fps));
            var offset = input.TimestampOffset;
            string? readError = null;
            while (true)
            {
                CheckStop(cancellationToken);
                WaitTurn(cancellationToken);
                var read = Interop.AvFormat.ReadFrame(input.Format, packet.Pointer);
                if (read < 0)
                {
                    CheckStop(cancellationToken);
                    input.ThrowIfIoFailed();
                    if (read != Interop.AvUtil.ErrorEof)
                    {
                        readError = Interop.AvUtil.ErrorText(read);
                    }

                    break;
                }

                Touch();
                var p = packet.Pointer;
                if (p->stream_index != input.VideoIndex)
                {
                    Interop.AvCodec.PacketUnref(p);
                    continue;
                }

                _statistics.PacketsRead++;
                if (p->pts != Interop.AvUtil.NoPtsValue)
                {
                    p->pts += offset;
                }

                if (p->dts != Interop.AvUtil.NoPtsValue)
                {
                    p->dts += offset;
                }

                state.PacketDuration = p->duration;
                Send(codec, p, frame, pending, converter, output, state, cancellationToken);
                Interop.AvCodec.PacketUnref(p);
            }

            state.PacketDuration = 0;
            Send(codec, null, frame, pending, converter, output, state, cancellationToken);

            if (_statistics.FramesDecoded == 0)
            {
                var why = readError ?? _statistics.LastDecodeError ?? "the stream holds no decodable frames";
                throw new VideoDataException(FailureClass.Decode,
                    $"{_inputName}: no frames could be decoded ({_statistics.PacketsRead} packets read, {_statistics.DecodeErrors} decode errors; {why}) (decode)");
            }

            if (readError is not null)
            {
                throw new VideoDataException(FailureClass.Decode,
                    $"{_inputName}: reading the container failed after {_statistics.PacketsRead} video packets: {readError} (decode)");
            }

            var listed = input.Video->nb_frames;
            if (listed > 0 && _statistics.PacketsRead < listed)
            {
                throw new VideoDataException(FailureClass.Decode,
                    $"{_inputName}: truncated: the container lists {listed} video frames but only {_statistics.PacketsRead} could be read (decode)");
            }

            // End of stream as the CLI signals it: the last frame's timestamp plus its duration.
            var endInStream = Interop.AvUtil.RescaleQRnd(state.NextMicroseconds, Microseconds, state.StreamTimeBase, Interop.AvUtil.RoundNearInf | Interop.AvUtil.RoundPassMinMax);
            var endTick = Interop.AvUtil.RescaleQRnd(endInStream, state.StreamTimeBase, state.OutputTimeBase, Interop.AvUtil.RoundNearInf | Interop.AvUtil.RoundPassMinMax);
            var count = state.Sampler.Finish(endTick);
            Emit(pending.Pointer, count, converter, output);
            output.Flush();
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>Pauses while a compute pass holds the cores (<see cref="DecodeOptions.WaitForCores"/>).</summary>
    private void WaitTurn(CancellationToken cancellationToken)
    {
        if (_options.WaitForCores is not { } waitForCores)
        {
            return;
        }

        BeginWait();
        try
        {
            waitForCores(cancellationToken);
        }
        finally
        {
            EndWait();
        }
    }

    private void CheckStop(CancellationToken cancellationToken)
    {
        Abort.ThrowIfAborted();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void Send(CodecSession codec, AVPacket* packet, FrameHandle frame, FrameHandle pending, FrameConverter converter, ChunkAssembler output, TimelineState state, CancellationToken cancellationToken)
    {
        while (true)
        {
            var sent = Interop.AvCodec.SendPacket(codec.Context, packet);
            if (sent == Interop.AvUtil.ErrorAgain)
            {
                if (Receive(codec, frame, pending, converter, output, state, cancellationToken) == 0)
                {
                    throw new VideoDataException(FailureClass.Decode, $"{_inputName}: the decoder accepts no input and returns no frames (decode)");
                }

                continue;
            }

            if (sent < 0 && sent != Interop.AvUtil.ErrorEof)
            {
                CountError(sent);
            }

            break;
        }

        Receive(codec, frame, pending, converter, output, state, cancellationToken);
    }

    private int Receive(CodecSession codec, FrameHandle frameHandle, FrameHandle pending, FrameConverter converter, ChunkAssembler output, TimelineState state, CancellationToken cancellationToken)
    {
        var received = 0;
        var frame = frameHandle.Pointer;
        while (true)
        {
            CheckStop(cancellationToken);
            var result = Interop.AvCodec.ReceiveFrame(codec.Context, frame);
            if (result == Interop.AvUtil.ErrorAgain || result == Interop.AvUtil.ErrorEof)
            {
                return received;
            }

            if (result < 0)
            {
                CountError(result);
                return received;
            }

            received++;
            _statistics.FramesDecoded++;
            Touch();
            if (codec.UsesCuda && _statistics.FramesDecoded == 1 && frame->format != Interop.AvUtil.PixelFormatCuda)
            {
                // libavcodec drops the hwaccel itself when NVDEC refuses the stream at setup.
                _statistics.Decoder = "cpu";
                _statistics.FallbackReason ??= "NVDEC did not accept this stream (codec profile or size); libavcodec decoded it on the CPU";
            }

            codec.Download(frame, _inputName);

            if (frame->decode_error_flags != 0 || (frame->flags & Interop.AvUtil.FrameFlagCorrupt) != 0)
            {
                _statistics.DecodeErrors++;
                _statistics.LastDecodeError = "corrupt decoded frame";
            }

            if (frame->width > _options.MaxWidth || frame->height > _options.MaxHeight)
            {
                throw new VideoDataException(FailureClass.Decode,
                    $"{_inputName}: a decoded frame is {frame->width}×{frame->height}, over the limit of {_options.MaxWidth}×{_options.MaxHeight} (decode)");
            }

            OnFrame(frame, pending, converter, output, state, codec);
            Interop.AvUtil.FrameUnref(frame);
        }
    }

    private void OnFrame(AVFrame* frame, FrameHandle pending, FrameConverter converter, ChunkAssembler output, TimelineState state, CodecSession codec)
    {
        var timestamp = frame->best_effort_timestamp;
        var current = timestamp != Interop.AvUtil.NoPtsValue
            ? Interop.AvUtil.RescaleQ(timestamp, state.StreamTimeBase, Microseconds)
            : state.NextMicroseconds;
        state.NextMicroseconds = current + state.FrameDurationMicroseconds(frame->pkt_duration, codec.Context);

        var tick = Interop.AvUtil.RescaleQRnd(timestamp, state.StreamTimeBase, state.OutputTimeBase, Interop.AvUtil.RoundNearInf | Interop.AvUtil.RoundPassMinMax);
        var count = state.Sampler.Push(tick);
        Emit(pending.Pointer, count, converter, output);
        Interop.AvUtil.FrameUnref(pending.Pointer);
        Interop.AvUtil.FrameMoveRef(pending.Pointer, frame);
    }

    private void Emit(AVFrame* frame, long count, FrameConverter converter, ChunkAssembler output)
    {
        if (count <= 0)
        {
            return;
        }

        var limit = (long)(_options.MaxDuration.TotalSeconds * _options.Fps);
        if (_statistics.FramesOutput + count > limit)
        {
            throw new VideoDataException(FailureClass.Decode,
                $"{_inputName}: the decoded video runs past the limit of {_options.MaxDuration} (MaxDuration) (decode)");
        }

        // The declared duration is whatever the timestamps say, and a timestamp jump is filled with repeats of one frame:
        // the output is also bounded by what the file really holds (checked before a single repeat is made).
        var bytes = _input?.KnownBytes ?? 0;
        var extentSeconds = _options.ExtentAllowance.TotalSeconds + ((double)bytes / _options.MinBytesPerSecond);
        var extentLimit = (long)Math.Min(extentSeconds * _options.Fps, long.MaxValue / 2);
        if (_statistics.FramesOutput + count > extentLimit)
        {
            throw new VideoDataException(FailureClass.Decode, string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"{_inputName}: the timestamps call for {(_statistics.FramesOutput + count) / (double)_options.Fps:0.#} s of output but the input holds {bytes} bytes, "
                + $"enough for {extentSeconds:0.#} s (ExtentAllowance {_options.ExtentAllowance.TotalSeconds:0.#} s + one second per {_options.MinBytesPerSecond} bytes, MinBytesPerSecond); "
                + $"a timestamp jump of {count / (double)_options.Fps:0.#} s after output second {_statistics.FramesOutput / (double)_options.Fps:0.#}? (decode)"));
        }

        converter.Convert(frame, output.LastFrame);
        for (var i = 0; i < count; i++)
        {
            output.AddLastFrame();
            _statistics.FramesOutput++;
        }
    }

    private void CountError(int error)
    {
        _statistics.DecodeErrors++;
        _statistics.LastDecodeError = Interop.AvUtil.ErrorText(error);
    }

    /// <summary>Timestamp bookkeeping that mirrors the CLI: the running "next pts" and the fps grid.</summary>
    private sealed class TimelineState(AVRational streamTimeBase, AVRational outputTimeBase)
    {
        public AVRational StreamTimeBase { get; } = streamTimeBase;

        public AVRational OutputTimeBase { get; } = outputTimeBase;

        public FpsSampler Sampler { get; } = new();

        /// <summary>Where the CLI expects the next frame, in microseconds: last timestamp plus its duration.</summary>
        public long NextMicroseconds { get; set; }

        /// <summary>Duration of the packet being decoded (0 while flushing).</summary>
        public long PacketDuration { get; set; }

        public long FrameDurationMicroseconds(long frameDuration, AVCodecContext* context)
        {
            if (frameDuration > 0)
            {
                return Interop.AvUtil.RescaleQ(frameDuration, StreamTimeBase, Microseconds);
            }

            if (PacketDuration > 0)
            {
                return Interop.AvUtil.RescaleQ(PacketDuration, StreamTimeBase, Microseconds);
            }

            var rate = context->framerate;
            var ticks = Math.Max(1, context->ticks_per_frame);
            return rate.num > 0 && rate.den > 0 ? 1_000_000L * rate.den * ticks / rate.num / ticks : 0;
        }
    }

    /// <summary>Collects output frames into pooled one-second chunks and hands them to the channel.</summary>
    private sealed class ChunkAssembler : IDisposable
    {
        private readonly DecodeSession _session;
        private readonly ChannelWriter<FrameChunk> _writer;
        private readonly CancellationToken _cancellationToken;
        private readonly int _fps;
        private readonly int _size;
        private readonly int _frameBytes;
        private readonly byte[] _lastFrame;
        private byte[]? _buffer;
        private int _inChunk;
        private int _second;

        public ChunkAssembler(DecodeSession session, ChannelWriter<FrameChunk> writer, DecodeOptions options, CancellationToken cancellationToken)
        {
            _session = session;
            _writer = writer;
            _cancellationToken = cancellationToken;
            _fps = options.Fps;
            _size = options.Size;
            _frameBytes = options.Size * options.Size * 3;
            _lastFrame = new byte[_frameBytes];
        }

        /// <summary>The most recently converted frame; <see cref="AddLastFrame"/> appends a copy of it.</summary>
        public Span<byte> LastFrame => _lastFrame;

        public void AddLastFrame()
        {
            _buffer ??= ChunkBufferPool.Shared.Rent(_fps * _frameBytes);

            _lastFrame.CopyTo(_buffer.AsSpan(_inChunk * _frameBytes, _frameBytes));
            if (++_inChunk == _fps)
            {
                Flush();
            }
        }

        public void Flush()
        {
            if (_buffer is null || _inChunk == 0)
            {
                return;
            }

            var start = TimeSpan.FromSeconds(_second);
            var chunk = new FrameChunk(_second, _inChunk, _size, _buffer, start, static buffer => ChunkBufferPool.Shared.Return(buffer));
            _buffer = null;
            _inChunk = 0;
            _second++;
            try
            {
                while (!_writer.TryWrite(chunk))
                {
                    _session.BeginWait();
                    try
                    {
                        if (!_writer.WaitToWriteAsync(_cancellationToken).AsTask().GetAwaiter().GetResult())
                        {
                            _session.Abort.ThrowIfAborted();
                            throw new OperationCanceledException("The consumer stopped reading frames.");
                        }
                    }
                    finally
                    {
                        _session.EndWait();
                    }
                }
            }
            catch
            {
                chunk.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            if (_buffer is not null)
            {
                ChunkBufferPool.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }
}
