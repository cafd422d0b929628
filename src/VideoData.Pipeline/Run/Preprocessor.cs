using VideoData.Features.Runtime;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Ledger;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.Manifests;
using VideoData.Storage.S3;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Run;

/// <summary>What a worker's run did.</summary>
/// <param name="Output">Where shards, ledgers and stats are.</param>
/// <param name="Worker">This worker's slot (index/count).</param>
/// <param name="ManifestVideos">Videos in the manifest.</param>
/// <param name="Shards">Shards this worker owns.</param>
/// <param name="ShardStats">Stats of the shards this run published (skipped complete shards have none).</param>
/// <param name="Ledgers">Ledgers of every shard this worker owns, after the run.</param>
/// <param name="RandomWeights">True when the encoder ran with random weights (features not meaningful).</param>
/// <param name="Storage">Storage request, byte, retry and throttle counters for the run.</param>
public sealed record PreprocessSummary(
    string Output,
    WorkerSlot Worker,
    int ManifestVideos,
    int Shards,
    IReadOnlyList<ShardStats> ShardStats,
    IReadOnlyList<ShardLedger> Ledgers,
    bool RandomWeights,
    StorageCountersSnapshot Storage)
{
    /// <summary>Videos with features across this worker's shards.</summary>
    public int Done => Ledgers.Sum(l => l.Done.Count());

    /// <summary>Videos failed across this worker's shards.</summary>
    public int Failed => Ledgers.Sum(l => l.Failed.Count());

    /// <summary>Failures per class across this worker's shards.</summary>
    public IReadOnlyDictionary<string, int> FailuresByClass => Ledgers.SelectMany(l => l.Failed)
        .GroupBy(e => e.FailureClass ?? "unknown").OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
}

/// <summary>
/// The preprocessing job of one worker: read the manifest, plan shards deterministically, take this worker's
/// shards, and bring each to completion with <see cref="ShardProcessor"/>. Safe to rerun and to kill at any
/// instant: completed shards are skipped, committed videos are not redone, failures are retried up to
/// <see cref="PipelineDefinition.MaxRetries"/>.
/// </summary>
public static class Preprocessor
{
    /// <summary>Runs this worker's share of the job.</summary>
    /// <param name="definition">The validated pipeline definition.</param>
    /// <param name="worker">This worker's slot; see <see cref="WorkerSlot.Resolve"/>.</param>
    /// <param name="retryFailed">Retry failed videos regardless of their attempt count.</param>
    /// <param name="progress">Counters the caller displays.</param>
    /// <param name="log">Receives one line per notable event (failures, shard publication).</param>
    /// <param name="computeThread">
    /// The thread the encoder's libtorch work runs on (the CLI lends its main thread: see <see cref="ComputeThread"/>);
    /// null: a dedicated thread of the encoder's own.
    /// </param>
    /// <param name="cancellationToken">Stops the run; nothing partial is published and the next run resumes.</param>
    public static async Task<PreprocessSummary> RunAsync(PipelineDefinition definition, WorkerSlot worker, bool retryFailed, PipelineProgress progress, Action<string> log, ComputeThread? computeThread = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(log);
        PipelineDefinitionLoader.Validate(definition);
        if (definition.Manifest is null)
        {
            throw new PipelineDefinitionException("Pipeline field 'manifest' is not set: give --manifest or set it in the pipeline file.");
        }

        // Plain paths given for the manifest, the output and the caption tables are relative to the working directory, as
        // on any command line; only the manifest's own entries are relative to its folder (or source_root).
        definition = definition with
        {
            Manifest = FromWorkingDirectory(definition.Manifest),
            Output = FromWorkingDirectory(definition.Output),
            Captions = definition.Captions with { Tables = definition.Captions.Tables is { } tables ? FromWorkingDirectory(tables) : null },
        };
        var manifestUri = definition.Manifest;

        // The encoder builds in the background while the manifest is read and the first videos decode. On a CPU-only worker
        // its passes and the decoders take the cores in turns (stages.cpu_turns).
        using var encoder = S3dVideoEncoder.Start(definition, computeThread);
        Func<CancellationToken, bool>? waitForCores = definition.Stages.TakesCpuTurns(definition.Encoder.Device) ? encoder.WaitForTurn : null;

        using var resolver = new BlobStoreResolver(StoreOptions(definition));
        var entries = await ManifestReader.ReadAsync(manifestUri, resolver, new ManifestOptions
        {
            UriTemplate = definition.UriTemplate,
            CaptionUriTemplate = definition.Captions.UriTemplate,
            LocalRoot = LocalRoot(definition),
            MaxDurationSeconds = definition.Decode.MaxDurationSeconds,
        }, cancellationToken).ConfigureAwait(false);
        var output = resolver.Resolve(definition.Output);
        var store = new PrefixedBlobStore(output.Store, output.Key);
        var time = TimeProvider.System;
        // One plan file: the output's fixed bucket plan, and the brief `videodata status` reads (refreshed when the manifest changed).
        var (outputPlan, plan) = await Status.ShardPlanFile.ResolveAsync(store, entries.Select(e => e.VideoId).ToList(), manifestUri, definition.ShardSize, time, log, cancellationToken).ConfigureAwait(false);
        var mine = plan.ForWorker(worker).ToList();
        var byId = entries.ToDictionary(e => e.VideoId, StringComparer.Ordinal);
        progress.AddTotals(mine.Sum(s => s.VideoIds.Count), mine.Count);
        log($"worker {worker}: {mine.Count} of {plan.Shards.Count} shards, {mine.Sum(s => s.VideoIds.Count)} of {entries.Count} videos; output {definition.Output}");

        if (encoder.RandomWeights)
        {
            log("encoder: no weights given, using randomly initialised S3D-G weights: the features are NOT meaningful. " +
                "Set encoder.weights (or --weights) to s3d_howto100m.pth, the MIL-NCE HowTo100M checkpoint, for real features.");
        }

        var captionTables = definition.Captions.Tables is { } location ? CaptionTables.Open(resolver, location) : null;
        var localRoot = store.RootUri.StartsWith("file:", StringComparison.Ordinal) ? new Uri(store.RootUri).LocalPath : null;
        var processor = new ShardProcessor(store, new LibraryPorts(resolver, definition, waitForCores), encoder, definition, progress, log, outputPlan, time, captionTables, localRoot);
        var staleAfter = TimeSpan.FromSeconds(definition.LeaseStaleSeconds);
        var stats = new List<ShardStats>();

        // Each shard under its lease. A shard another live worker holds is skipped for now and looked at again once this
        // worker's other shards are done, until that worker has released it (or its lease went stale and this one took over).
        var waiting = new List<Shard>();
        foreach (var shard in mine)
        {
            if (!await TryShardAsync(shard).ConfigureAwait(false))
            {
                waiting.Add(shard);
            }
        }

        while (waiting.Count > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, staleAfter.TotalSeconds / 8)), time, cancellationToken).ConfigureAwait(false);
            foreach (var shard in waiting.ToList())
            {
                if (await TryShardAsync(shard).ConfigureAwait(false))
                {
                    waiting.Remove(shard);
                }
            }
        }

        var ledgers = new List<ShardLedger>();
        foreach (var shard in mine)
        {
            ledgers.Add(await ShardLedger.ReadAsync(store, shard.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"{ShardLedger.ShardName(shard.Id)} has no ledger after processing."));
        }

        async Task<bool> TryShardAsync(Shard shard)
        {
            var items = shard.VideoIds.Select(id => byId[id]).Select(e => new VideoWorkItem(e.VideoId, e.Uri, e.CaptionUri, 0)).ToList();
            for (var attempt = 1; ; attempt++)
            {
                var (lease, holder) = await ShardLeaseHolder.TryAcquireAsync(store, shard.Id, staleAfter, time, log, cancellationToken).ConfigureAwait(false);
                if (lease is null)
                {
                    log($"{shard.Name}: worker {holder?.Worker ?? "?"} (pid {holder?.Pid}, {holder?.Host}) holds its lease (heartbeat {holder?.HeartbeatAt:O}); waiting for it");
                    return false;
                }

                await using (lease.ConfigureAwait(false))
                {
                    using var work = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
                    try
                    {
                        if (await processor.RunAsync(shard.Id, items, retryFailed, lease, work.Token).ConfigureAwait(false) is { } shardStats)
                        {
                            stats.Add(shardStats);
                        }

                        return true;
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (ex is LeaseLostException || (ex is OperationCanceledException && lease.Lost.IsCancellationRequested)))
                    {
                        log($"{shard.Name}: stopped working on it: this worker lost its lease; whoever holds it now finishes it");
                        return false;
                    }
                    catch (ShardConflictException ex) when (attempt < 3)
                    {
                        log($"{ex.Message} Starting the shard again from what is published now.");
                    }
                }
            }
        }
        return new PreprocessSummary(store.RootUri, worker, entries.Count, mine.Count, stats, ledgers, encoder.RandomWeights, resolver.Counters);
    }

    /// <summary>
    /// The storage options a run of <paramref name="definition"/> reads and writes with: its <c>s3</c> section (which already
    /// holds the environment's layer when the definition came from the command line) and the folder plain manifest entries
    /// are relative to. For a caller that reads or writes beside the run with the same settings.
    /// </summary>
    public static BlobStoreOptions StoreOptions(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new BlobStoreOptions { LocalRoot = LocalRoot(definition), S3 = S3Options(definition) };
    }

    private static string FromWorkingDirectory(string uri) =>
        uri.Contains("://", StringComparison.Ordinal) || Path.IsPathRooted(uri) ? uri : Path.GetFullPath(uri);

    private static string? LocalRoot(PipelineDefinition definition) =>
        definition.SourceRoot ?? (definition.Manifest is { } manifest && !manifest.Contains("://", StringComparison.Ordinal)
            ? Path.GetDirectoryName(Path.GetFullPath(manifest))
            : null);

    private static S3StoreOptions S3Options(PipelineDefinition definition)
    {
        var s3 = definition.S3;
        var options = new S3StoreOptions
        {
            ServiceUrl = s3.EndpointUrl is null ? null : new Uri(s3.EndpointUrl),
            ForcePathStyle = s3.ForcePathStyle,
            UseChunkEncoding = s3.UseChunkEncoding,
            ChecksumMode = S3StoreOptions.ParseChecksumMode(s3.ChecksumMode),
            MaxConcurrency = s3.MaxConcurrency,
            PartSize = s3.PartSizeMiB * 1024L * 1024,
        };
        if (s3.Region is not null)
        {
            options.Region = s3.Region;
        }

        // The environment (AWS_REGION, VIDEODATA_S3_ENDPOINT, ...) is already in the definition: the command line layers it
        // between the file and the flags (PipelineDefinitionLoader.Load), so reading it again here would let it beat --set.
        return options;
    }
}
