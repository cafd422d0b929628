using System.Diagnostics;
using System.Threading.Channels;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Ledger;
using VideoData.Shards;

namespace VideoData.Pipeline.Run;

/// <summary>
/// The stage graph of one shard's pending videos: decode workers → bounded channel of decoded seconds per video → one encoder
/// batching seconds across videos → bounded channel of finished videos → one writer committing them in segments
/// (<see cref="SegmentWriter"/>). It owns the stages and their channels, nothing about ledgers or publishing.
/// </summary>
internal sealed class StageGraph
{
    private readonly IVideoPorts _ports;
    private readonly IVideoEncoder _encoder;
    private readonly PipelineDefinition _definition;
    private readonly PipelineProgress _progress;
    private readonly Action<string> _log;

    public StageGraph(IVideoPorts ports, IVideoEncoder encoder, PipelineDefinition definition, PipelineProgress progress, Action<string> log)
    {
        _ports = ports;
        _encoder = encoder;
        _definition = definition;
        _progress = progress;
        _log = log;
    }

    /// <summary>
    /// Runs the stage graph over <paramref name="pending"/>; yields each video's committed ledger entry.
    /// Decode workers each stream one video at a time into that video's own bounded channel and announce the
    /// video on the <c>started</c> channel; the encoder consumes videos in announcement order (batching seconds
    /// across them), so a worker only ever waits on its own video's channel and the graph cannot deadlock.
    /// Frames in memory are bounded by the channel capacities, never by video length.
    /// Videos are announced in <paramref name="pending"/>'s order, whichever worker is ready first: the encoder's batches
    /// are then the same on every run over the same pending videos, and so are the features (a forward pass's numerics
    /// depend, in the last bits, on where a second sits in its batch).
    /// </summary>
    public async IAsyncEnumerable<LedgerEntry> RunAsync(SegmentWriter segments, IReadOnlyList<VideoWorkItem> pending, IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stages = _definition.Stages;
        var queue = Channel.CreateBounded<(int Turn, VideoWorkItem Item)>(new BoundedChannelOptions(stages.DecodeParallelism) { FullMode = BoundedChannelFullMode.Wait, SingleWriter = true });
        var turns = new AnnouncementTurns(pending.Count);
        var started = Channel.CreateBounded<InFlight>(new BoundedChannelOptions(stages.DecodeParallelism) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        var encoded = Channel.CreateBounded<(InFlight Video, EncodedVideo Result)>(new BoundedChannelOptions(stages.EncodedVideosCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
        var committed = Channel.CreateUnbounded<LedgerEntry>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        // The decoded-seconds budget is shared by the videos that can be buffered at once: one per worker being
        // decoded plus the ones announced and waiting for the encoder.
        var perVideoCapacity = Math.Max(2, stages.DecodedSecondsCapacity / (2 * stages.DecodeParallelism + 1));
        var inFlight = new List<InFlight>();
        _progress.DecodedQueueDepth = () =>
        {
            lock (inFlight)
            {
                return inFlight.Sum(v => v.Chunks.Reader.Count);
            }
        };
        _progress.EncodedQueueDepth = () => encoded.Reader.Count;

        var feed = FeedAsync(queue.Writer, pending, stop.Token);
        var decoders = Enumerable.Range(0, stages.DecodeParallelism)
            .Select(_ => Task.Run(() => DecodeWorkerAsync(queue.Reader, started.Writer, turns, perVideoCapacity, inFlight, joined, stop.Token), stop.Token))
            .ToArray();
        var decodersDone = CompleteWhenAllAsync(decoders, started.Writer);
        var encoder = Task.Run(() => EncodeStageAsync(started.Reader, encoded.Writer, stop.Token), stop.Token);
        var writer = Task.Run(() => WriteStageAsync(segments, encoded.Reader, committed.Writer, stop.Token), stop.Token);
        var all = Task.WhenAll(feed, decodersDone, encoder, writer);
        _ = all.ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);

        var finished = false;
        try
        {
            await foreach (var entry in committed.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }

            await all.ConfigureAwait(false);
            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // Stopped (Ctrl+C) or failed: let every stage wind down (the encoder ends its forward at the next layer,
                // decoders free their native objects) before the caller disposes the encoder or the process exits.
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await all.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException || cancellationToken.IsCancellationRequested)
                {
                    // The stop request, or a stage that failed because of it; the caller sees the cancellation.
                }
            }
        }
    }

    private static async Task FeedAsync(ChannelWriter<(int, VideoWorkItem)> writer, IReadOnlyList<VideoWorkItem> pending, CancellationToken cancellationToken)
    {
        try
        {
            for (var turn = 0; turn < pending.Count; turn++)
            {
                await writer.WriteAsync((turn, pending[turn]), cancellationToken).ConfigureAwait(false);
            }

            writer.Complete();
        }
        catch (Exception ex)
        {
            writer.Complete(ex);
            throw;
        }
    }

    private static async Task CompleteWhenAllAsync(Task[] workers, ChannelWriter<InFlight> writer)
    {
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
            writer.Complete();
        }
        catch (Exception ex)
        {
            writer.Complete(ex);
            throw;
        }
    }

    private async Task DecodeWorkerAsync(ChannelReader<(int Turn, VideoWorkItem Item)> queue, ChannelWriter<InFlight> started, AnnouncementTurns turns, int perVideoCapacity, List<InFlight> inFlight, IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined, CancellationToken cancellationToken)
    {
        await foreach (var (turn, item) in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var video = new InFlight(item, Channel.CreateBounded<FrameChunk>(new BoundedChannelOptions(perVideoCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true }));

            // Captions first, under their watchdog, before the encoder hears of the video: the encoder consumes videos in
            // announcement order, so a caption file loaded after the announcement would hold it (and every video behind).
            VideoDataException? captionFailure = null;
            try
            {
                // The imported tables (captions.tables) win over a per-video caption file; both are already cleaned.
                video.Captions = joined is not null && joined.TryGetValue(item.VideoId, out var imported)
                    ? imported
                    : await LoadCaptionsUnderWatchdogAsync(item, cancellationToken).ConfigureAwait(false);
                if (video.Captions is null && joined is not null)
                {
                    throw new VideoDataException(FailureClass.Captions, $"{item.VideoId}: captions.tables '{_definition.Captions.Tables}' has no captions for this video.");
                }
            }
            catch (VideoDataException ex) when (!_definition.Captions.Required)
            {
                // Captions are optional in this pipeline: keep the video, say why it has none.
                _log($"{item.VideoId}: kept without captions ({ex.FailureClass.ToName()}): {ex.Message}");
            }
            catch (VideoDataException ex)
            {
                // Required captions failed: the video fails with that class; it is still announced so the writer records it.
                captionFailure = ex;
            }

            lock (inFlight)
            {
                inFlight.Add(video);
            }

            // In pending order (see RunAsync). Every item a worker takes reaches this point (caption failures are caught
            // above), so the turn always passes on; only a stopping graph cancels the wait.
            await turns.WaitAsync(turn, cancellationToken).ConfigureAwait(false);
            await started.WriteAsync(video, cancellationToken).ConfigureAwait(false);
            turns.Pass(turn);
            var clock = Stopwatch.StartNew();
            try
            {
                if (captionFailure is not null)
                {
                    throw captionFailure;
                }

                var stream = await _ports.OpenVideoAsync(item, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await foreach (var chunk in _ports.DecodeAsync(stream, item, cancellationToken).ConfigureAwait(false))
                    {
                        video.Frames += chunk.FrameCount;
                        _progress.AddDecode(clock.Elapsed);
                        await video.Chunks.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                        clock.Restart();
                    }
                }

                _progress.AddDecode(clock.Elapsed);
                video.Chunks.Writer.Complete(video.Frames == 0
                    ? new VideoDataException(FailureClass.Decode, $"{item.Uri}: the video stream decoded to no frames.")
                    : null);
            }
            catch (VideoDataException ex)
            {
                video.Chunks.Writer.Complete(ex);
            }
            catch (Exception ex)
            {
                video.Chunks.Writer.Complete(ex);
                throw;
            }
            finally
            {
                lock (inFlight)
                {
                    inFlight.Remove(video);
                }
            }
        }
    }

    /// <summary>
    /// Loads a video's captions (fetch, read, clean, tokenize) on the thread pool under <c>captions.timeout_seconds</c>: past it
    /// the load is cancelled and abandoned, and the video goes on as <see cref="FailureClass.Captions"/> (a note when captions
    /// are optional). The budget holds even when the load is stuck where cancellation cannot reach it (an open(2) of a FIFO
    /// nobody writes, a read from a hung file system); the abandoned load is counted in <see cref="AbandonedCaptionLoads"/>.
    /// </summary>
    private async Task<IReadOnlyList<CaptionSegment>?> LoadCaptionsUnderWatchdogAsync(VideoWorkItem item, CancellationToken cancellationToken)
    {
        var budget = TimeSpan.FromSeconds(_definition.Captions.TimeoutSeconds);
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(budget);
        var load = Task.Run(() => _ports.LoadCaptionsAsync(item, watchdog.Token), watchdog.Token);
        try
        {
            return await load.WaitAsync(budget, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (ex is TimeoutException || (ex is OperationCanceledException && watchdog.IsCancellationRequested)))
        {
            if (!load.IsCompleted)
            {
                Interlocked.Increment(ref s_abandonedCaptionLoads);
                _ = load.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            throw new VideoDataException(FailureClass.Captions,
                $"captions {item.CaptionUri}: not loaded within captions.timeout_seconds = {budget.TotalSeconds:0.###} s (a stuck fetch or read, or a file too costly to clean); abandoned.", ex);
        }
    }

    private static long s_abandonedCaptionLoads;

    /// <summary>Caption loads abandoned by the watchdog in this process (each may still hold a thread-pool thread until its I/O returns).</summary>
    internal static long AbandonedCaptionLoads => Interlocked.Read(ref s_abandonedCaptionLoads);

    private async Task EncodeStageAsync(ChannelReader<InFlight> started, ChannelWriter<(InFlight, EncodedVideo)> encoded, CancellationToken cancellationToken)
    {
        try
        {
            var order = new Queue<InFlight>();
            var clock = Stopwatch.StartNew();
            await foreach (var result in _encoder.EncodeAsync(Announced(started, order, _progress, cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                _progress.AddEncode(clock.Elapsed);
                var video = order.Dequeue();
                if (video.Item.VideoId != result.VideoId)
                {
                    throw new InvalidOperationException($"The encoder returned '{result.VideoId}' where '{video.Item.VideoId}' was expected.");
                }

                await encoded.WriteAsync((video, result), cancellationToken).ConfigureAwait(false);
                clock.Restart();
            }

            encoded.Complete();
        }
        catch (Exception ex)
        {
            encoded.Complete(ex);
            throw;
        }

        static async IAsyncEnumerable<VideoFrames> Announced(ChannelReader<InFlight> started, Queue<InFlight> order, PipelineProgress progress, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var video in started.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                order.Enqueue(video);
                yield return new VideoFrames(video.Item.VideoId, Counted(video.Chunks.Reader, progress, cancellationToken));
            }
        }

        // Each 1-second chunk the encoder takes counts at once, so progress moves within a long video.
        static async IAsyncEnumerable<FrameChunk> Counted(ChannelReader<FrameChunk> chunks, PipelineProgress progress, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var chunk in chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                progress.SecondIntoEncoder();
                yield return chunk;
            }
        }
    }

    /// <summary>
    /// Resolves each finished video into its ledger entry and commits them in segments (<see cref="SegmentWriter"/>); yields an
    /// entry only once its segment is committed. On a stop the open segment is still committed, so the videos finished so far
    /// are not redone.
    /// </summary>
    private async Task WriteStageAsync(SegmentWriter segments, ChannelReader<(InFlight Video, EncodedVideo Result)> encoded, ChannelWriter<LedgerEntry> committed, CancellationToken cancellationToken)
    {
        try
        {
            while (await WaitOrDueAsync(segments, encoded, cancellationToken).ConfigureAwait(false))
            {
                if (!encoded.TryRead(out var next))
                {
                    await CommitAsync(segments, committed, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var (video, result) = next;
                var clock = Stopwatch.StartNew();
                var item = video.Item;
                var attempts = item.PreviousAttempts + 1;
                bool due;
                if (result.Features is { } features)
                {
                    var record = new FeatureRecord
                    {
                        VideoId = item.VideoId,
                        // One definition for every command (preprocess, features, demo): the duration of what was decoded
                        // and encoded, frames at decode.fps over fps, not the container's claim (absent or wrong in damaged
                        // files); so seconds = ceil(duration) always holds.
                        Duration = video.Frames / (double)_definition.Decode.Fps,
                        Seconds = features.Seconds,
                        Dim = VideoFeatures.Dim,
                        Features = features.Embeddings,
                        Mixed5cDim = features.Mixed5c is null ? 0 : VideoFeatures.Mixed5cDim,
                        Mixed5c = features.Mixed5c,
                        Captions = video.Captions ?? [],
                    };
                    due = segments.Add(LedgerEntry.Success(item.VideoId, attempts, record.Seconds), record);
                    _progress.VideoDone(record.Seconds);
                }
                else
                {
                    var failure = result.Failure!;
                    var message = failure.Message.Contains(item.Uri, StringComparison.Ordinal) ? failure.Message : $"{item.Uri}: {failure.Message}";
                    due = segments.Add(LedgerEntry.Failure(item.VideoId, failure.FailureClass, message, attempts), null);
                    _progress.VideoFailed();
                    _log($"{item.VideoId}: failed ({failure.FailureClass.ToName()}): {message}");
                }

                _progress.AddWrite(clock.Elapsed);
                if (due)
                {
                    await CommitAsync(segments, committed, cancellationToken).ConfigureAwait(false);
                }
            }

            await CommitAsync(segments, committed, cancellationToken).ConfigureAwait(false);
            committed.Complete();
        }
        catch (OperationCanceledException ex) when (segments.Buffered > 0)
        {
            // Stopped (Ctrl+C, SIGTERM, a lost lease): what is finished is worth keeping; committing it takes one small write.
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await CommitAsync(segments, committed, limit.Token).ConfigureAwait(false);
            }
            catch (Exception commitFailure) when (commitFailure is IOException or OperationCanceledException)
            {
                _log($"could not commit the {segments.Buffered} finished video(s) while stopping: {commitFailure.Message}");
            }

            committed.Complete(ex);
            throw;
        }
        catch (Exception ex)
        {
            committed.Complete(ex);
            throw;
        }
    }

    private async Task CommitAsync(SegmentWriter segments, ChannelWriter<LedgerEntry> committed, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var entries = await segments.CommitAsync(cancellationToken).ConfigureAwait(false);
        _progress.AddWrite(clock.Elapsed);
        foreach (var entry in entries)
        {
            await committed.WriteAsync(entry, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the next finished video, or until the open segment is due by age; false when no more videos come.</summary>
    private static async Task<bool> WaitOrDueAsync(SegmentWriter segments, ChannelReader<(InFlight, EncodedVideo)> encoded, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (encoded.TryPeek(out _) || segments.IsDue)
            {
                return true;
            }

            if (segments.Buffered == 0)
            {
                return await encoded.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            tick.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                if (!await encoded.WaitToReadAsync(tick.Token).ConfigureAwait(false))
                {
                    return false;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A one-second tick: look at the segment's age again.
            }
        }
    }

    /// <summary>A video between its decode worker and the writer.</summary>
    /// <summary>Lets the decode workers announce their videos in pending order: turn <c>i</c> opens once turn <c>i - 1</c> has announced.</summary>
    private sealed class AnnouncementTurns
    {
        private readonly TaskCompletionSource[] _open;

        public AnnouncementTurns(int count)
        {
            _open = new TaskCompletionSource[count + 1];
            for (var i = 0; i < _open.Length; i++)
            {
                _open[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _open[0].SetResult();
        }

        public Task WaitAsync(int turn, CancellationToken cancellationToken) => _open[turn].Task.WaitAsync(cancellationToken);

        public void Pass(int turn) => _open[turn + 1].TrySetResult();
    }

    private sealed class InFlight(VideoWorkItem item, Channel<FrameChunk> chunks)
    {
        public VideoWorkItem Item { get; } = item;

        public Channel<FrameChunk> Chunks { get; } = chunks;

        /// <summary>Set by the decode worker before it completes <see cref="Chunks"/>; read after the encoder has drained them.</summary>
        public IReadOnlyList<CaptionSegment>? Captions { get; set; }

        public int Frames { get; set; }
    }
}
