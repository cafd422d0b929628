using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Features.Shards;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Run;

/// <summary>
/// Processes one shard: decode workers → bounded channel of decoded seconds → one encoder batching seconds
/// across videos → bounded channel of finished videos → one writer. Every finished video is committed
/// atomically under <c>_work/shard-N/</c> as it completes, so a worker killed at any instant loses at most
/// the videos in flight; when every video of the shard is resolved the shard file, then its ledger, then its
/// stats are published and the work files removed. Publishing is idempotent: a restart after any step
/// produces the same shard.
/// </summary>
internal sealed class ShardProcessor
{
    private readonly IBlobStore _output;
    private readonly IVideoPorts _ports;
    private readonly IVideoEncoder _encoder;
    private readonly PipelineDefinition _definition;
    private readonly PipelineProgress _progress;
    private readonly Action<string> _log;
    private readonly CaptionTables? _captionTables;
    private readonly string? _localRoot;

    /// <param name="localRoot">The output folder when the output is local (stale temporary files are swept there), else null.</param>
    public ShardProcessor(IBlobStore output, IVideoPorts ports, IVideoEncoder encoder, PipelineDefinition definition, PipelineProgress progress, Action<string> log, CaptionTables? captionTables = null, string? localRoot = null)
    {
        _captionTables = captionTables;
        _localRoot = localRoot;
        _output = output;
        _ports = ports;
        _encoder = encoder;
        _definition = definition;
        _progress = progress;
        _log = log;
    }

    public static string ShardKey(int shardId) => $"shards/{ShardLedger.ShardName(shardId)}.parquet";

    public static string StatsKey(int shardId) => $"stats/{ShardLedger.ShardName(shardId)}_stats.json";

    private static string WorkPrefix(int shardId) => $"_work/{ShardLedger.ShardName(shardId)}/";

    private static string WorkDoneKey(int shardId, string videoId) => $"{WorkPrefix(shardId)}{videoId}.parquet";

    private static string WorkFailedKey(int shardId, string videoId) => $"{WorkPrefix(shardId)}{videoId}.failed.json";

    /// <summary>
    /// Brings the shard to completion. <paramref name="videos"/> is every video assigned to the shard (the
    /// shard plan is deterministic, so it is the same on every run). Returns the shard's stats, or null when
    /// the shard was already complete and nothing needed retrying.
    /// </summary>
    public async Task<ShardStats?> RunAsync(int shardId, IReadOnlyList<VideoWorkItem> videos, bool retryFailed, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        if (StaleTempFiles.Sweep(_localRoot, _output.RootUri, shardId) is > 0 and var swept)
        {
            _log($"{ShardLedger.ShardName(shardId)}: removed {swept} temporary file(s) an interrupted run left behind");
        }

        var existing = await ShardLedger.ReadAsync(_output, shardId, cancellationToken).ConfigureAwait(false);
        var work = await ReadWorkAsync(shardId, cancellationToken).ConfigureAwait(false);

        // Entries already settled: done in the published shard, or failed past the retry budget.
        var settled = new Dictionary<string, LedgerEntry>(StringComparer.Ordinal);
        var attempts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in existing?.Videos ?? [])
        {
            attempts[entry.VideoId] = entry.Attempts;
            if (entry.IsDone || !ShouldRetry(entry.Attempts, retryFailed))
            {
                settled[entry.VideoId] = entry;
            }
        }

        foreach (var (id, entry) in work)
        {
            attempts[id] = Math.Max(attempts.GetValueOrDefault(id), entry.Attempts);
            if (entry.IsDone || !ShouldRetry(entry.Attempts, retryFailed))
            {
                settled[id] = entry;
            }
        }

        var pending = videos
            .Where(v => !settled.ContainsKey(v.VideoId))
            .Select(v => v with { PreviousAttempts = attempts.GetValueOrDefault(v.VideoId) })
            .ToList();
        if (existing is not null && pending.Count == 0)
        {
            if (work.Count > 0)
            {
                await DeleteWorkAsync(shardId, cancellationToken).ConfigureAwait(false);
            }

            _progress.VideosSkippedBy(videos.Count);
            _progress.ShardDone();
            return null;
        }

        _progress.VideosSkippedBy(videos.Count - pending.Count);
        var name = ShardLedger.ShardName(shardId);
        if (pending.Count > 0)
        {
            _log($"{name}: {pending.Count} of {videos.Count} videos to process ({videos.Count - pending.Count} already settled)");
            IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined = null;
            if (_captionTables is not null)
            {
                joined = await _captionTables.LoadAsync(pending.Select(v => v.VideoId), cancellationToken).ConfigureAwait(false);
                _log($"{name}: captions.tables has captions for {joined.Count} of the {pending.Count} videos");
            }

            await foreach (var outcome in ProcessAsync(shardId, pending, joined, cancellationToken).ConfigureAwait(false))
            {
                settled[outcome.VideoId] = outcome;
            }
        }

        var stats = await PublishAsync(shardId, videos, existing, settled, clock, cancellationToken).ConfigureAwait(false);
        _progress.ShardDone();
        return stats;
    }

    private bool ShouldRetry(int attempts, bool retryFailed) => retryFailed || attempts <= _definition.MaxRetries;

    /// <summary>
    /// Runs the stage graph over <paramref name="pending"/>; yields each video's committed ledger entry.
    /// Decode workers each stream one video at a time into that video's own bounded channel and announce the
    /// video on the <c>started</c> channel; the encoder consumes videos in announcement order (batching seconds
    /// across them), so a worker only ever waits on its own video's channel and the graph cannot deadlock.
    /// Frames in memory are bounded by the channel capacities, never by video length.
    /// </summary>
    private async IAsyncEnumerable<LedgerEntry> ProcessAsync(int shardId, IReadOnlyList<VideoWorkItem> pending, IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stages = _definition.Stages;
        var queue = Channel.CreateBounded<VideoWorkItem>(new BoundedChannelOptions(stages.DecodeParallelism) { FullMode = BoundedChannelFullMode.Wait, SingleWriter = true });
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
            .Select(_ => Task.Run(() => DecodeWorkerAsync(queue.Reader, started.Writer, perVideoCapacity, inFlight, joined, stop.Token), stop.Token))
            .ToArray();
        var decodersDone = CompleteWhenAllAsync(decoders, started.Writer);
        var encoder = Task.Run(() => EncodeStageAsync(started.Reader, encoded.Writer, stop.Token), stop.Token);
        var writer = Task.Run(() => WriteStageAsync(shardId, encoded.Reader, committed.Writer, stop.Token), stop.Token);
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

    private static async Task FeedAsync(ChannelWriter<VideoWorkItem> writer, IReadOnlyList<VideoWorkItem> pending, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var item in pending)
            {
                await writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
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

    private async Task DecodeWorkerAsync(ChannelReader<VideoWorkItem> queue, ChannelWriter<InFlight> started, int perVideoCapacity, List<InFlight> inFlight, IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined, CancellationToken cancellationToken)
    {
        await foreach (var item in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var video = new InFlight(item, Channel.CreateBounded<FrameChunk>(new BoundedChannelOptions(perVideoCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true }));
            lock (inFlight)
            {
                inFlight.Add(video);
            }

            await started.WriteAsync(video, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            try
            {
                try
                {
                    // The imported tables (captions.tables) win over a per-video caption file; both are already cleaned.
                    video.Captions = joined is not null && joined.TryGetValue(item.VideoId, out var imported)
                        ? imported
                        : await _ports.LoadCaptionsAsync(item, cancellationToken).ConfigureAwait(false);
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

    private async Task WriteStageAsync(int shardId, ChannelReader<(InFlight Video, EncodedVideo Result)> encoded, ChannelWriter<LedgerEntry> committed, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (video, result) in encoded.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var clock = Stopwatch.StartNew();
                var item = video.Item;
                var attempts = item.PreviousAttempts + 1;
                LedgerEntry entry;
                if (result.Features is { } features)
                {
                    var record = new FeatureRecord
                    {
                        VideoId = item.VideoId,
                        Duration = video.Frames / (double)_definition.Decode.Fps,
                        Seconds = features.Seconds,
                        Dim = VideoFeatures.Dim,
                        Features = features.Embeddings,
                        Captions = video.Captions ?? [],
                    };
                    await WriteRecordAsync(WorkDoneKey(shardId, item.VideoId), [record], cancellationToken).ConfigureAwait(false);
                    await _output.DeleteAsync(WorkFailedKey(shardId, item.VideoId), cancellationToken).ConfigureAwait(false);
                    entry = LedgerEntry.Success(item.VideoId, attempts, record.Seconds);
                    _progress.VideoDone(record.Seconds);
                }
                else
                {
                    var failure = result.Failure!;
                    var message = failure.Message.Contains(item.Uri, StringComparison.Ordinal) ? failure.Message : $"{item.Uri}: {failure.Message}";
                    entry = LedgerEntry.Failure(item.VideoId, failure.FailureClass, message, attempts);
                    using var buffer = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(entry, ShardLedger.JsonOptions));
                    await _output.WriteAsync(WorkFailedKey(shardId, item.VideoId), buffer, cancellationToken).ConfigureAwait(false);
                    _progress.VideoFailed();
                    _log($"{item.VideoId}: failed ({failure.FailureClass.ToName()}): {message}");
                }

                _progress.AddWrite(clock.Elapsed);
                await committed.WriteAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            committed.Complete();
        }
        catch (Exception ex)
        {
            committed.Complete(ex);
            throw;
        }
    }

    private async Task WriteRecordAsync(string key, IEnumerable<FeatureRecord> records, CancellationToken cancellationToken)
    {
        var writer = FeatureShardWriter.CreateBlob(_output, key, _encoder.Lineage);
        await using (writer.ConfigureAwait(false))
        {
            foreach (var record in records)
            {
                await writer.AddAsync(record, cancellationToken).ConfigureAwait(false);
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads what earlier (possibly killed) runs committed under the shard's work prefix.</summary>
    private async Task<Dictionary<string, LedgerEntry>> ReadWorkAsync(int shardId, CancellationToken cancellationToken)
    {
        var work = new Dictionary<string, LedgerEntry>(StringComparer.Ordinal);
        var prefix = WorkPrefix(shardId);
        await foreach (var blob in _output.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = blob.Key[prefix.Length..];
            if (name.EndsWith(".failed.json", StringComparison.Ordinal))
            {
                var stream = await _output.OpenReadAsync(blob.Key, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var entry = await JsonSerializer.DeserializeAsync<LedgerEntry>(stream, ShardLedger.JsonOptions, cancellationToken).ConfigureAwait(false);
                    if (entry is not null && !work.ContainsKey(entry.VideoId))
                    {
                        work[entry.VideoId] = entry;
                    }
                }
            }
            else if (name.EndsWith(".parquet", StringComparison.Ordinal))
            {
                var id = name[..^".parquet".Length];
                var record = await ReadWorkRecordAsync(shardId, id, cancellationToken).ConfigureAwait(false);
                work[id] = LedgerEntry.Success(id, 1, record.Seconds);
            }
        }

        return work;
    }

    /// <summary>Reads the one-video result a writer committed under the shard's work prefix.</summary>
    private async Task<FeatureRecord> ReadWorkRecordAsync(int shardId, string videoId, CancellationToken cancellationToken)
    {
        var key = WorkDoneKey(shardId, videoId);
        var stream = await _output.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var reader = await FeatureShardReader.OpenAsync(stream, _output.UriOf(key), leaveOpen: true, cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadVideoAsync(videoId, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Publishes the shard (done videos in id order), then the ledger, then stats; then removes the work files.</summary>
    private async Task<ShardStats> PublishAsync(int shardId, IReadOnlyList<VideoWorkItem> videos, ShardLedger? existing, Dictionary<string, LedgerEntry> settled, Stopwatch clock, CancellationToken cancellationToken)
    {
        var name = ShardLedger.ShardName(shardId);
        var entries = videos.Select(v => settled.TryGetValue(v.VideoId, out var e) ? e : throw new InvalidOperationException($"{name}: video '{v.VideoId}' was never resolved."))
            .OrderBy(e => e.VideoId, StringComparer.Ordinal)
            .ToList();
        var previousDone = existing?.Done.Select(e => e.VideoId).ToHashSet(StringComparer.Ordinal) ?? [];

        FeatureShardReader? previous = null;
        Stream? previousStream = null;
        if (previousDone.Count > 0)
        {
            previousStream = await _output.OpenReadAsync(ShardKey(shardId), cancellationToken).ConfigureAwait(false);
            previous = await FeatureShardReader.OpenAsync(previousStream, _output.UriOf(ShardKey(shardId)), leaveOpen: true, cancellationToken).ConfigureAwait(false);
        }

        // The new shard is built in a local temporary file because the previous shard may be read while writing.
        var temp = StaleTempFiles.PublishTempPath(_output.RootUri, shardId);
        try
        {
            var writer = FeatureShardWriter.CreateFile(temp, _encoder.Lineage);
            await using (writer.ConfigureAwait(false))
            {
                foreach (var entry in entries.Where(e => e.IsDone))
                {
                    FeatureRecord record;
                    if (previous is not null && previousDone.Contains(entry.VideoId))
                    {
                        record = await previous.ReadVideoAsync(entry.VideoId, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        record = await ReadWorkRecordAsync(shardId, entry.VideoId, cancellationToken).ConfigureAwait(false);
                    }

                    await writer.AddAsync(record, cancellationToken).ConfigureAwait(false);
                }

                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            if (previous is not null)
            {
                await previous.DisposeAsync().ConfigureAwait(false);
                await previousStream!.DisposeAsync().ConfigureAwait(false);
                previous = null;
            }

            await _output.WriteFileAsync(ShardKey(shardId), temp, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (previous is not null)
            {
                await previous.DisposeAsync().ConfigureAwait(false);
                await previousStream!.DisposeAsync().ConfigureAwait(false);
            }

            File.Delete(temp);
        }

        var ledger = new ShardLedger(shardId, entries);
        await ledger.WriteAsync(_output, cancellationToken).ConfigureAwait(false);
        var stats = ShardStats.From(ledger, clock.Elapsed, _progress);
        await stats.WriteAsync(_output, StatsKey(shardId), cancellationToken).ConfigureAwait(false);
        await DeleteWorkAsync(shardId, cancellationToken).ConfigureAwait(false);
        _log($"{name}: published {ledger.Done.Count()} videos, {ledger.Failed.Count()} failed");
        return stats;
    }

    private async Task DeleteWorkAsync(int shardId, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var blob in _output.ListAsync(WorkPrefix(shardId), cancellationToken).ConfigureAwait(false))
        {
            keys.Add(blob.Key);
        }

        foreach (var key in keys)
        {
            await _output.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A video between its decode worker and the writer.</summary>
    private sealed class InFlight(VideoWorkItem item, Channel<FrameChunk> chunks)
    {
        public VideoWorkItem Item { get; } = item;

        public Channel<FrameChunk> Chunks { get; } = chunks;

        /// <summary>Set by the decode worker before it completes <see cref="Chunks"/>; read after the encoder has drained them.</summary>
        public IReadOnlyList<CaptionSegment>? Captions { get; set; }

        public int Frames { get; set; }
    }
}
