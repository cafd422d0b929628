using System.IO.Pipelines;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// Publishes a shard from its resume state. <b>I2: the shard file and the ledger always agree.</b> The data file is immutable
/// and uniquely named (<c>shards/shard-NNNNN-TAG.parquet</c>); the ledger, written last in one conditional write, names it;
/// so a reader that follows the ledger sees the old pair or the new pair, never a mix, on a local folder or S3. The commit is
/// conditional on the ledger version the worker started from: of two workers publishing one shard, the second fails and
/// retries from the first's result (<see cref="ShardConflictException"/>). <b>I2b: the shards folder stays readable by other
/// tools.</b> After the commit the superseded data files are deleted (and a publish that fails before its commit deletes its
/// own), so after any completed run <c>shards/*.parquet</c> holds each done video exactly once; a run killed in between leaves
/// an extra file that the shard's next run (any run that takes the lease) deletes. The data file is assembled from the
/// published file and the work segments by copying column chunks (<see cref="FeatureShardAssembler"/>): the features are not
/// decoded, and nothing proportional to the shard goes to a local temporary file.
/// </summary>
internal sealed class ShardPublisher
{
    private readonly IBlobStore _output;
    private readonly ShardLineage _lineage;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly string? _localRoot;

    public ShardPublisher(IBlobStore output, ShardLineage lineage, TimeProvider time, Action<string> log, string? localRoot)
    {
        _output = output;
        _lineage = lineage;
        _time = time;
        _log = log;
        _localRoot = localRoot;
    }

    /// <summary>
    /// Publishes <paramref name="entries"/> (every video of the shard, in the order the ledger lists them), taking the done
    /// videos' features from the published data file or the segments <paramref name="state"/> names. Returns the new ledger.
    /// </summary>
    public async Task<ShardLedger> PublishAsync(int shardId, ResumeState state, IReadOnlyList<LedgerEntry> entries, IReadOnlyDictionary<string, string?> featureSource, ShardPlanInfo plan, ShardLeaseHolder? lease, CancellationToken cancellationToken)
    {
        var dataKey = OutputLayout.NewDataFileKey(shardId);
        var committed = false;
        try
        {
            await WriteDataFileAsync(shardId, state, entries, featureSource, dataKey, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reached(CrashPoints.DataFileWritten);
            cancellationToken.ThrowIfCancellationRequested();
            if (lease is not null && !await lease.RenewAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new LeaseLostException($"{OutputLayout.Name(shardId)}: lost the lease before publishing; another worker owns the shard now.");
            }

            var ledger = new ShardLedger(shardId, entries)
            {
                Plan = plan,
                DataFile = dataKey,
                Segments = [.. state.Segments.Select(s => s.Segment)],
                Worker = Run.WorkerIdentity.Id,
                PublishedAt = _time.GetUtcNow().ToString("O"),
            };
            if (!await ledger.TryCommitAsync(_output, state.LedgerVersion, cancellationToken).ConfigureAwait(false))
            {
                throw new ShardConflictException($"{OutputLayout.Name(shardId)}: another worker published the shard while this one worked on it.");
            }

            committed = true;
            CrashPoints.Reached(CrashPoints.LedgerCommitted);
            return ledger;
        }
        finally
        {
            if (!committed)
            {
                // Never committed: the file is ours alone (unique name), and no ledger names it.
                await TryDeleteAsync(dataKey).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// After the commit (and on every later run that finds the shard complete): removes data files the ledger does not name and
    /// the segments it took in, then the empty work folder. Not cancellable: each step is short and the commit is already made.
    /// </summary>
    public async Task CleanUpAsync(int shardId, ShardLedger ledger)
    {
        var superseded = new List<string>();
        await foreach (var blob in _output.ListAsync(OutputLayout.DataFilePrefix(shardId), CancellationToken.None).ConfigureAwait(false))
        {
            if (OutputLayout.IsDataFileOf(blob.Key, shardId) && blob.Key != ledger.DataFile)
            {
                superseded.Add(blob.Key);
            }
        }

        foreach (var key in superseded)
        {
            await _output.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
        }

        CrashPoints.Reached(CrashPoints.SupersededDeleted);
        var taken = (ledger.Segments ?? []).ToHashSet(StringComparer.Ordinal);
        var prefix = OutputLayout.WorkPrefix(shardId);
        var work = new List<string>();
        await foreach (var blob in _output.ListAsync(prefix, CancellationToken.None).ConfigureAwait(false))
        {
            if (taken.Contains(Path.GetFileNameWithoutExtension(blob.Key[prefix.Length..])))
            {
                work.Add(blob.Key);
            }
        }

        // Data files first: a record left without its data is discarded by the next run, and the ledger lists it anyway.
        foreach (var key in work.OrderBy(k => k.EndsWith(".json", StringComparison.Ordinal)))
        {
            await _output.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
        }

        if (_localRoot is not null)
        {
            StaleTempFiles.RemoveEmptyWorkFolder(_localRoot, shardId);
        }

        CrashPoints.Reached(CrashPoints.WorkDeleted);
    }

    private async Task WriteDataFileAsync(int shardId, ResumeState state, IReadOnlyList<LedgerEntry> entries, IReadOnlyDictionary<string, string?> featureSource, string dataKey, CancellationToken cancellationToken)
    {
        var done = entries.Where(e => e.IsDone).ToList();
        if (done.Count == 0)
        {
            // No video to copy (and so no schema to copy): the writer makes an empty shard, a few hundred bytes.
            using var empty = new MemoryStream();
            var writer = FeatureShardWriter.Create(empty, _lineage);
            await using (writer.ConfigureAwait(false))
            {
                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            empty.Position = 0;
            await _output.WriteAsync(dataKey, empty, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Open each source once: the published data file and the segments holding a picked video.
        var keys = new List<string>();
        var picks = new List<(int Source, string VideoId)>(done.Count);
        foreach (var entry in done)
        {
            var segment = featureSource.GetValueOrDefault(entry.VideoId);
            var key = segment is null
                ? state.Ledger?.DataFile ?? throw new InvalidOperationException($"{OutputLayout.Name(shardId)}: video '{entry.VideoId}' is done but neither the ledger nor a segment holds it.")
                : state.Segments.First(s => s.Segment == segment).DataFile!;
            var index = keys.IndexOf(key);
            if (index < 0)
            {
                index = keys.Count;
                keys.Add(key);
            }

            picks.Add((index, entry.VideoId));
        }

        var sources = new List<AssemblySource>(keys.Count);
        try
        {
            foreach (var key in keys)
            {
                sources.Add(new AssemblySource(_output.UriOf(key), await _output.OpenReadAsync(key, cancellationToken).ConfigureAwait(false)));
            }

            // The assembler writes into a pipe the store uploads from: no local copy of the shard.
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 8 << 20, resumeWriterThreshold: 4 << 20));
            var produce = Task.Run(
                async () =>
                {
                    var stream = pipe.Writer.AsStream(leaveOpen: true);
                    try
                    {
                        await FeatureShardAssembler.AssembleAsync(sources, picks, stream, cancellationToken).ConfigureAwait(false);
                        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                        await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        await pipe.Writer.CompleteAsync(ex).ConfigureAwait(false);
                        throw;
                    }
                },
                cancellationToken);
            var upload = pipe.Reader.AsStream(leaveOpen: true);
            try
            {
                await _output.WriteAsync(dataKey, upload, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await pipe.Reader.CompleteAsync().ConfigureAwait(false);
                await produce.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }

            await produce.ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.Content.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task TryDeleteAsync(string key)
    {
        try
        {
            await _output.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            _log($"could not remove the unpublished data file {_output.UriOf(key)} ({ex.Message}); the shard's next run removes it");
        }
    }
}
