using System.Diagnostics;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Ledger;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Run;

/// <summary>
/// Brings one shard to completion while holding its lease. The invariants of the commit path, each kept by the type named:
/// <list type="bullet">
/// <item><b>I1</b> what is committed is never lost (<see cref="ResumeState"/>): a video committed in a work segment reaches
/// the published shard and ledger on some later run, whatever was interrupted.</item>
/// <item><b>I2</b> the shard file and the ledger always agree (<see cref="ShardPublisher"/>): immutable data files, one
/// conditional ledger write naming the current one as the only commit point.</item>
/// <item><b>I2b</b> after a completed run <c>shards/*.parquet</c> holds every done video exactly once
/// (<see cref="ShardPublisher.CleanUpAsync"/>).</item>
/// <item><b>I3</b> each video is in exactly one shard across reruns with a changed manifest (<see cref="Status.ShardPlanFile"/>).</item>
/// <item><b>I4</b> concurrent workers on one shard cannot corrupt it (<see cref="ShardLeaseHolder"/>, and the conditional commit).</item>
/// <item><b>I5</b> nothing is left behind (<see cref="StaleTempFiles"/>, <see cref="ShardPublisher.CleanUpAsync"/>).</item>
/// </list>
/// The three parts: the resume state (ledger + segments) says what is settled and what is pending; the stage graph
/// (<see cref="StageGraph"/>) processes the pending videos into committed segments; the publisher assembles and commits.
/// </summary>
internal sealed class ShardProcessor
{
    private readonly IBlobStore _output;
    private readonly StageGraph _stages;
    private readonly IVideoEncoder _encoder;
    private readonly PipelineDefinition _definition;
    private readonly PipelineProgress _progress;
    private readonly Action<string> _log;
    private readonly CaptionTables? _captionTables;
    private readonly string? _localRoot;
    private readonly Status.ShardPlanFile _plan;
    private readonly TimeProvider _time;
    private readonly ShardPublisher _publisher;

    /// <param name="localRoot">The output folder when the output is local (stale temporary files are swept there), else null.</param>
    public ShardProcessor(IBlobStore output, IVideoPorts ports, IVideoEncoder encoder, PipelineDefinition definition, PipelineProgress progress, Action<string> log, Status.ShardPlanFile plan, TimeProvider time, CaptionTables? captionTables = null, string? localRoot = null)
    {
        _output = output;
        _stages = new StageGraph(ports, encoder, definition, progress, log);
        _encoder = encoder;
        _definition = definition;
        _progress = progress;
        _log = log;
        _plan = plan;
        _time = time;
        _captionTables = captionTables;
        _localRoot = localRoot;
        _publisher = new ShardPublisher(output, encoder.Lineage, time, log, localRoot);
    }

    public static string StatsKey(int shardId) => OutputLayout.StatsKey(shardId);

    /// <summary>
    /// Brings the shard to completion. <paramref name="videos"/> is every video the manifest assigns to the shard now; videos the
    /// published ledger holds beyond them (removed from the manifest since) stay in the shard. Returns the shard's stats, or
    /// null when it was already complete and nothing needed retrying. The caller holds <paramref name="lease"/> (null only in
    /// tests of a store without conditional writes); cancellation stops the stages and publishes nothing partial.
    /// </summary>
    public async Task<ShardStats?> RunAsync(int shardId, IReadOnlyList<VideoWorkItem> videos, bool retryFailed, ShardLeaseHolder? lease, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var name = OutputLayout.Name(shardId);
        if (StaleTempFiles.Sweep(_localRoot, _output.RootUri, shardId) is > 0 and var swept)
        {
            _log($"{name}: removed {swept} temporary file(s) an interrupted run left behind");
        }

        var state = await ResumeState.LoadAsync(_output, shardId, _plan, _log, cancellationToken).ConfigureAwait(false);
        var byId = videos.ToDictionary(v => v.VideoId, StringComparer.Ordinal);
        var removed = state.Ledger?.Videos.Count(v => !byId.ContainsKey(v.VideoId)) ?? 0;
        if (removed > 0)
        {
            _log($"{name}: {removed} video(s) of the published shard are no longer in the manifest; they stay in the shard (a video's shard never changes)");
        }

        var pending = videos
            .Where(v => !state.Merged.TryGetValue(v.VideoId, out var settled) || (!settled.Entry.IsDone && ShouldRetry(settled.Entry.Attempts, retryFailed)))
            .Select(v => v with { PreviousAttempts = state.Merged.TryGetValue(v.VideoId, out var e) ? e.Entry.Attempts : 0 })
            .ToList();
        if (state.Ledger is not null && pending.Count == 0 && state.Segments.Count == 0)
        {
            await _publisher.CleanUpAsync(shardId, state.Ledger).ConfigureAwait(false);
            if (!await _output.ExistsAsync(StatsKey(shardId), cancellationToken).ConfigureAwait(false))
            {
                // Killed between the ledger and the stats: the stats follow from the ledger.
                await ShardStats.From(state.Ledger, TimeSpan.Zero, _progress).WriteAsync(_output, StatsKey(shardId), cancellationToken).ConfigureAwait(false);
                _log($"{name}: wrote the stats a killed run did not");
            }

            _progress.VideosSkippedBy(videos.Count);
            _progress.ShardDone();
            return null;
        }

        _progress.VideosSkippedBy(videos.Count - pending.Count);
        var featureSource = state.Merged.ToDictionary(kv => kv.Key, kv => kv.Value.Segment, StringComparer.Ordinal);
        var settledEntries = state.Merged.ToDictionary(kv => kv.Key, kv => kv.Value.Entry, StringComparer.Ordinal);
        if (pending.Count > 0)
        {
            _log($"{name}: {pending.Count} of {videos.Count} videos to process ({videos.Count - pending.Count} already settled)");
            IReadOnlyDictionary<string, IReadOnlyList<CaptionSegment>>? joined = null;
            if (_captionTables is not null)
            {
                joined = await _captionTables.LoadAsync(pending.Select(v => v.VideoId), cancellationToken).ConfigureAwait(false);
                _log($"{name}: captions.tables has captions for {joined.Count} of the {pending.Count} videos");
            }

            var segments = new SegmentWriter(_output, shardId, _plan.BucketCount, _encoder.Lineage, WorkerIdentity.Id, _definition.SegmentVideos, TimeSpan.FromSeconds(_definition.SegmentSeconds), _time,
                _definition.Encoder.FeatureDtype == FeatureDtype.Float32 ? FeatureStorage.Float32 : FeatureStorage.Float16Rounded);
            await foreach (var outcome in _stages.RunAsync(segments, pending, joined, cancellationToken).ConfigureAwait(false))
            {
                settledEntries[outcome.VideoId] = outcome;
            }

            // The segments just committed are part of the resume state from here on: read it again, so the publish sees
            // exactly what is committed (and nothing only in memory).
            state = await ResumeState.LoadAsync(_output, shardId, _plan, _log, cancellationToken).ConfigureAwait(false);
            featureSource = state.Merged.ToDictionary(kv => kv.Key, kv => kv.Value.Segment, StringComparer.Ordinal);
            settledEntries = state.Merged.ToDictionary(kv => kv.Key, kv => kv.Value.Entry, StringComparer.Ordinal);
        }

        var entries = videos.Select(v => v.VideoId)
            .Concat(state.Ledger?.Videos.Select(v => v.VideoId) ?? [])
            .Distinct(StringComparer.Ordinal)
            .Select(id => settledEntries.TryGetValue(id, out var e) ? e : throw new InvalidOperationException($"{name}: video '{id}' was never resolved."))
            .OrderBy(e => e.VideoId, StringComparer.Ordinal)
            .ToList();
        var ledger = await _publisher.PublishAsync(shardId, state, entries, featureSource, _plan.ForShard(entries.Select(e => e.VideoId)), lease, cancellationToken).ConfigureAwait(false);
        var stats = ShardStats.From(ledger, clock.Elapsed, _progress) with { VideosProcessed = pending.Count };
        await stats.WriteAsync(_output, StatsKey(shardId), CancellationToken.None).ConfigureAwait(false);
        CrashPoints.Reached(CrashPoints.StatsWritten);
        await _publisher.CleanUpAsync(shardId, ledger).ConfigureAwait(false);
        _log($"{name}: published {ledger.Done.Count()} videos, {ledger.Failed.Count()} failed");
        _progress.ShardDone();
        return stats;
    }

    private bool ShouldRetry(int attempts, bool retryFailed) => retryFailed || attempts <= _definition.MaxRetries;
}
