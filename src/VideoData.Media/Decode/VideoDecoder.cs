using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VideoData.Core.Failures;
using VideoData.Core.Frames;

namespace VideoData.Media.Decode;

/// <summary>
/// Decodes videos in process with FFmpeg 5.1 and samples them as the reference extractor does
/// (<c>ffmpeg -vf fps=30,scale=W:H,crop=224:224 -pix_fmt rgb24</c>, rotation honoured), streaming
/// one-second <see cref="FrameChunk"/>s. Memory stays bounded by two chunks in flight, whatever the
/// video length. All methods are thread-safe; run as many decodes concurrently as there are cores.
/// </summary>
public static class VideoDecoder
{
    private const int ChunksInFlight = 2;
    private static int s_abandoned;

    /// <summary>
    /// Decode threads the watchdog gave up on that have not ended yet: each is stuck inside FFmpeg or a stream read, which
    /// cannot be interrupted from outside. The caller has already had its <c>timeout</c> failure and moved on; the thread
    /// is a dedicated one (never a pool thread), writes nothing more, and frees its native objects and the stream it owns
    /// when the stuck call returns. A diagnostic for logs and tests.
    /// </summary>
    public static int AbandonedDecodes => Volatile.Read(ref s_abandoned);

    /// <summary>
    /// Decodes <paramref name="input"/> (any readable stream; seekable for an MP4 whose moov atom
    /// is at the end) into chunks of up to <see cref="DecodeOptions.Fps"/> frames. The caller keeps
    /// ownership of the stream and must dispose each chunk. Failures are
    /// <see cref="VideoDataException"/>s with the class <c>probe</c>, <c>decode</c>, <c>timeout</c> or
    /// <c>fetch</c> (the stream threw), and a message naming <paramref name="inputName"/>; a missing
    /// or wrong FFmpeg is a <see cref="NativeDependencyException"/>.
    /// </summary>
    public static IAsyncEnumerable<FrameChunk> DecodeAsync(Stream input, string inputName, DecodeOptions options, CancellationToken cancellationToken = default) =>
        DecodeAsync(input, inputName, options, new DecodeStatistics(), cancellationToken);

    /// <summary>As <see cref="DecodeAsync(Stream, string, DecodeOptions, CancellationToken)"/>, filling <paramref name="statistics"/> (decoder used, fallback reason, error counts).</summary>
    public static IAsyncEnumerable<FrameChunk> DecodeAsync(Stream input, string inputName, DecodeOptions options, DecodeStatistics statistics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(statistics);
        options.Validate();
        if (!input.CanRead)
        {
            throw new ArgumentException($"The stream for {inputName} is not readable.", nameof(input));
        }

        return DecodeCoreAsync(input, inputName, options, statistics, ownsStream: false, cancellationToken);
    }

    /// <summary>Decodes the file at <paramref name="path"/>; a file that cannot be opened is a <c>fetch</c> failure.</summary>
    public static IAsyncEnumerable<FrameChunk> DecodeAsync(string path, DecodeOptions options, CancellationToken cancellationToken = default) =>
        DecodeAsync(path, options, new DecodeStatistics(), cancellationToken);

    /// <summary>As <see cref="DecodeAsync(string, DecodeOptions, CancellationToken)"/>, filling <paramref name="statistics"/>.</summary>
    public static IAsyncEnumerable<FrameChunk> DecodeAsync(string path, DecodeOptions options, DecodeStatistics statistics, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(statistics);
        options.Validate();
        return DecodeFileAsync(path, options, statistics, cancellationToken);
    }

    /// <summary>
    /// Reads the container header and stream information of <paramref name="input"/> without
    /// decoding. Bounds in <paramref name="options"/> (default: <see cref="DecodeOptions"/>'s) apply;
    /// the whole probe is limited by <see cref="DecodeOptions.WatchdogTimeout"/>.
    /// </summary>
    public static async Task<ProbeResult> ProbeAsync(Stream input, string inputName, DecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        options ??= new DecodeOptions();
        options.Validate();
        FfmpegRuntime.EnsureLoaded();

        var abort = new AbortSignal();
        using var deadline = options.WatchdogTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(options.WatchdogTimeout, options.TimeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var timeout = new VideoDataException(FailureClass.Timeout, $"{inputName}: probing took longer than {options.WatchdogTimeout.TotalSeconds:0.###} s (WatchdogTimeout) (timeout)");
        using var registration = stop.Token.Register(() => abort.Abort(deadline.IsCancellationRequested ? timeout : new OperationCanceledException(cancellationToken)));
        var probe = Task.Factory.StartNew(
            () =>
            {
                using var media = MediaInput.Open(input, inputName, options, abort, stop.Token);
                var (supported, detail) = CodecSession.NvdecSupport(media);
                return media.Describe(supported, detail);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            return await probe.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw timeout;
        }
    }

    /// <summary>Probes the file at <paramref name="path"/>; a file that cannot be opened is a <c>fetch</c> failure.</summary>
    public static async Task<ProbeResult> ProbeAsync(string path, DecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = OpenFile(path);
        await using (stream.ConfigureAwait(false))
        {
            return await ProbeAsync(stream, path, options, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<FrameChunk> DecodeFileAsync(string path, DecodeOptions options, DecodeStatistics statistics, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = OpenFile(path);
        await foreach (var chunk in DecodeCoreAsync(stream, path, options, statistics, ownsStream: true, cancellationToken).ConfigureAwait(false))
        {
            yield return chunk;
        }
    }

    private static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{path}: cannot open: {e.Message} (fetch)", e);
        }
    }

    private static async IAsyncEnumerable<FrameChunk> DecodeCoreAsync(
        Stream input,
        string inputName,
        DecodeOptions options,
        DecodeStatistics statistics,
        bool ownsStream,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        FfmpegRuntime.EnsureLoaded();
        var channel = Channel.CreateBounded<FrameChunk>(new BoundedChannelOptions(ChunksInFlight)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var session = new DecodeSession(input, inputName, options, statistics);
        var worker = Task.Factory.StartNew(
            () => session.Run(channel.Writer, stop.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var watchdog = StartWatchdog(session, channel.Writer, stop, inputName, options);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var chunk))
                {
                    yield return chunk;
                }
            }
        }
        finally
        {
            watchdog?.Dispose();
            await stop.CancelAsync().ConfigureAwait(false);
            if (!session.Abort.IsAborted)
            {
                // The worker owns the native objects and frees them before it ends; wait for that
                // unless the watchdog gave up on it (then it finishes, and frees, on its own).
                await worker.ConfigureAwait(false);
                stop.Dispose();
                if (ownsStream)
                {
                    await input.DisposeAsync().ConfigureAwait(false);
                }
            }
            else
            {
                Interlocked.Increment(ref s_abandoned);
                _ = worker.ContinueWith(
                    _ =>
                    {
                        Interlocked.Decrement(ref s_abandoned);
                        stop.Dispose();
                        if (ownsStream)
                        {
                            input.Dispose();
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            while (channel.Reader.TryRead(out var leftover))
            {
                leftover.Dispose();
            }
        }
    }

    private static ITimer? StartWatchdog(DecodeSession session, ChannelWriter<FrameChunk> writer, CancellationTokenSource stop, string inputName, DecodeOptions options)
    {
        var timeout = options.WatchdogTimeout;
        var budget = options.MaxDecodeTime;
        if (timeout == Timeout.InfiniteTimeSpan && budget == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        var shortest = timeout == Timeout.InfiniteTimeSpan ? budget : budget == Timeout.InfiniteTimeSpan ? timeout : TimeSpan.FromTicks(Math.Min(timeout.Ticks, budget.Ticks));
        var period = TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        return options.TimeProvider.CreateTimer(
            _ =>
            {
                if (session.Abort.IsAborted || session.IsFinished)
                {
                    return;
                }

                VideoDataException failure;
                if (timeout != Timeout.InfiniteTimeSpan && session.IsStalled(timeout))
                {
                    failure = new VideoDataException(FailureClass.Timeout,
                        $"{inputName}: no decoding progress for {timeout.TotalSeconds:0.###} s (WatchdogTimeout) (timeout)");
                }
                else if (budget != Timeout.InfiniteTimeSpan && session.WorkingTime > budget)
                {
                    failure = new VideoDataException(FailureClass.Timeout,
                        $"{inputName}: decoding took longer than its budget of {budget.TotalSeconds:0.###} s of work (MaxDecodeTime) (timeout)");
                }
                else
                {
                    return;
                }

                session.Abort.Abort(failure);
                writer.TryComplete(failure);
                try
                {
                    stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The decode ended while the watchdog fired; nothing left to stop.
                }
            },
            null,
            period,
            period);
    }
}
