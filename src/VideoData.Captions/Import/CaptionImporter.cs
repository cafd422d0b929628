using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Captions.Tokenization;
using VideoData.Core.IO;
using VideoData.Storage.Sharding;

namespace VideoData.Captions.Import;

/// <summary>
/// Converts a whole HowTo100M <c>raw_caption.json</c> into Parquet caption tables, one per shard
/// of <see cref="ShardPlanner"/>'s assignment over the file's video ids (<c>shard-00000.parquet</c>, …), plus
/// <c>damaged.jsonl</c> (entries not imported, with the reason) and <c>summary.json</c>.
/// </summary>
/// <remarks>
/// Memory stays flat in the size of the captions: pass 1 streams the file and keeps only a compact
/// index of the ids (about 30 bytes a video) to assign shards; pass 2 streams it again, cleans and
/// tokenizes each video on <see cref="CaptionImportOptions.Parallelism"/> threads (bounded
/// channels of batches between reader, cleaners and writer) and appends it to its shard's spill
/// file; pass 3 turns each spill file into a Parquet table in rank order, as many at a time as
/// there are cleaning threads, each holding one row group's records. Every output is written under
/// a temporary name and then renamed.
/// </remarks>
public static class CaptionImporter
{
    private const int ProgressEvery = 1000;

    // Videos travel between the reader, the cleaners and the spill writer in batches (one hand-off,
    // and at most one thread wake-up, per batch); at most 8 batches wait in each channel (a few MB).
    private const int BatchSize = 16;
    private const int ChannelCapacity = 8;

    /// <summary>Runs the import. Throws <see cref="FileNotFoundException"/> or <see cref="IOException"/> naming the path for a missing input or an output folder that already holds shards.</summary>
    public static async Task<CaptionImportSummary> ImportAsync(CaptionImportOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var input = Path.GetFullPath(options.InputPath);
        var output = Path.GetFullPath(options.OutputDirectory);
        if (!File.Exists(input))
        {
            throw new FileNotFoundException($"Caption file '{input}' does not exist.", input);
        }

        Directory.CreateDirectory(output);
        if (Directory.EnumerateFiles(output, "shard-*.parquet").Any())
        {
            throw new IOException($"'{output}' already holds caption shards; import into an empty folder.");
        }

        var tokenizer = options.Tokenizer ?? BertWordPieceTokenizer.Default;
        var cleaner = new CaptionCleaner(options.Cleaner, tokenizer);

        var (ranks, distinct) = await Task.Run(() => CollectIds(input, options.Progress, cancellationToken), cancellationToken).ConfigureAwait(false);
        var shardCount = (int)((distinct + (long)options.ShardSize - 1) / options.ShardSize);
        var spillFolder = Path.Combine(output, $".import-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spillFolder);
        var spills = new SpillFile?[shardCount];
        try
        {
            var cleaned = await CleanAllAsync(input, ranks, options, cleaner, spills, spillFolder, cancellationToken).ConfigureAwait(false);
            var metadata = Metadata(options, input, shardCount);
            var files = await WriteTablesAsync(output, spills, metadata, options, cancellationToken).ConfigureAwait(false);
            var summary = cleaned with { Shards = shardCount, ShardSize = options.ShardSize, ShardFiles = files };
            await WriteReportsAsync(output, summary, cancellationToken).ConfigureAwait(false);
            return summary;
        }
        finally
        {
            foreach (var spill in spills)
            {
                spill?.Dispose();
            }

            Directory.Delete(spillFolder, recursive: true);
        }
    }

    /// <summary>Pass 3: turns the spill files into tables, <see cref="CaptionImportOptions.Parallelism"/> shards at a time.</summary>
    private static async Task<string[]> WriteTablesAsync(
        string output, SpillFile?[] spills, Dictionary<string, string> metadata, CaptionImportOptions options, CancellationToken cancellationToken)
    {
        var files = new string[spills.Length];
        var next = -1;
        var written = 0;
        var progressLock = new Lock();
        var writers = Enumerable.Range(0, Math.Min(options.Parallelism, spills.Length)).Select(_ => Task.Run(
            async () =>
            {
                // Each writer reuses one set of column buffers for all its shards.
                var columns = new CaptionColumns();
                int shard;
                while ((shard = Interlocked.Increment(ref next)) < spills.Length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var path = Path.Combine(output, ShardPlanner.ShardName(shard) + ".parquet");
                    var shardMetadata = new Dictionary<string, string>(metadata) { ["videodata.captions.shard"] = shard.ToString(CultureInfo.InvariantCulture) };
                    await CaptionTable.WriteAsync(path, spills[shard], shardMetadata, columns, cancellationToken).ConfigureAwait(false);
                    spills[shard]?.Dispose();
                    spills[shard] = null;
                    files[shard] = path;
                    lock (progressLock)
                    {
                        options.Progress?.Report(new CaptionImportProgress(3, ++written));
                    }
                }
            },
            cancellationToken));
        await Task.WhenAll(writers).ConfigureAwait(false);
        return files;
    }

    private static (int[] Ranks, int Distinct) CollectIds(string input, IProgress<CaptionImportProgress>? progress, CancellationToken cancellationToken)
    {
        var order = new ShardOrder();
        using (var stream = OpenSequential(input))
        {
            foreach (var id in HowTo100MCaptionReader.ReadIds(stream, input, cancellationToken))
            {
                if (id is null)
                {
                    order.AddExcluded();
                }
                else
                {
                    order.Add(id);
                }

                if (order.Count % ProgressEvery == 0)
                {
                    progress?.Report(new CaptionImportProgress(1, order.Count));
                }
            }
        }

        return order.Rank();
    }

    private static async Task<CaptionImportSummary> CleanAllAsync(
        string input, int[] ranks, CaptionImportOptions options, CaptionCleaner cleaner, SpillFile?[] spills, string spillFolder, CancellationToken cancellationToken)
    {
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        var toClean = Channel.CreateBounded<List<(int Rank, long Position, UnparsedEntry Entry)>>(
            new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleWriter = true, SingleReader = options.Parallelism == 1 });
        var toSpill = Channel.CreateBounded<List<(int Rank, long Position, byte[]? Record, int Length, DamagedCaptionEntry? Damage, int Unpaired)>>(
            new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleWriter = options.Parallelism == 1, SingleReader = true });
        // Damage found by the reader (in file order) and by the workers (in any order), with file positions.
        var damaged = new List<(long Position, DamagedCaptionEntry Entry)>();
        var parseDamage = new List<(long Position, DamagedCaptionEntry Entry)>();
        long entries = 0, unpaired = 0, videos = 0;

        // The reader only splits the file into entries; parsing, cleaning and tokenizing run on the workers.
        var read = Task.Run(
            async () =>
            {
                using var stream = OpenSequential(input);
                var batch = new List<(int Rank, long Position, UnparsedEntry Entry)>(BatchSize);
                foreach (var entry in HowTo100MCaptionReader.ReadUnparsed(stream, input, token))
                {
                    var index = entries++;
                    if (index >= ranks.Length)
                    {
                        throw new InvalidDataException($"'{input}' changed during the import (more entries on the second pass).");
                    }

                    if (entry.Damage is not null)
                    {
                        var parsed = HowTo100MCaptionReader.Parse(entry);
                        damaged.Add((index, new DamagedCaptionEntry(parsed.VideoId, parsed.Damage!)));
                    }
                    else if (ranks[index] < 0)
                    {
                        entry.Release();
                        damaged.Add((index, new DamagedCaptionEntry(entry.VideoId!, "duplicate video id: a later entry with the same id is imported instead (as json.load keeps the last)")));
                    }
                    else
                    {
                        batch.Add((ranks[index], index, entry));
                        if (batch.Count == BatchSize)
                        {
                            await toClean.Writer.WriteAsync(batch, token).ConfigureAwait(false);
                            batch = new List<(int Rank, long Position, UnparsedEntry Entry)>(BatchSize);
                        }
                    }

                    if (entries % ProgressEvery == 0)
                    {
                        options.Progress?.Report(new CaptionImportProgress(2, entries));
                    }
                }

                if (batch.Count > 0)
                {
                    await toClean.Writer.WriteAsync(batch, token).ConfigureAwait(false);
                }

                if (entries != ranks.Length)
                {
                    throw new InvalidDataException($"'{input}' changed during the import (fewer entries on the second pass).");
                }
            },
            token);

        var counts = new CleanupCounts[options.Parallelism];
        var cleaners = Enumerable.Range(0, options.Parallelism).Select(worker => Task.Run(
            async () =>
            {
                var local = new CleanupCounts();
                await foreach (var batch in toClean.Reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    var results = new List<(int Rank, long Position, byte[]? Record, int Length, DamagedCaptionEntry? Damage, int Unpaired)>(batch.Count);
                    foreach (var (rank, position, unparsed) in batch)
                    {
                        var entry = HowTo100MCaptionReader.Parse(unparsed);
                        unparsed.Release();
                        if (entry.IsDamaged)
                        {
                            results.Add((rank, position, null, 0, new DamagedCaptionEntry(entry.VideoId, entry.Damage!), 0));
                            continue;
                        }

                        // Tokenized straight into the spill record, so the spill writer only copies bytes.
                        local += cleaner.CleanUntokenized(entry.VideoId, entry.Cues, out var segments);
                        var (record, length) = SpillFile.Encode(rank, entry.VideoId, segments, cleaner.Tokenizer);
                        results.Add((rank, position, record, length, null, entry.UnpairedElements));
                    }

                    await toSpill.Writer.WriteAsync(results, token).ConfigureAwait(false);
                }

                counts[worker] = local;
            },
            token)).ToArray();

        var spill = Task.Run(
            async () =>
            {
                await foreach (var batch in toSpill.Reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    foreach (var (rank, position, record, length, damage, unpairedElements) in batch)
                    {
                        if (record is null)
                        {
                            parseDamage.Add((position, damage!));
                            continue;
                        }

                        unpaired += unpairedElements;
                        var shard = rank / options.ShardSize;
                        spills[shard] ??= new SpillFile(Path.Combine(spillFolder, $"shard-{shard:D5}.bin"));
                        spills[shard]!.AppendRecord(record, length);
                        videos++;
                    }
                }
            },
            token);

        await Task.WhenAll(
            Guard(read, error => toClean.Writer.TryComplete(error), failure),
            Guard(Task.WhenAll(cleaners), error => toSpill.Writer.TryComplete(error), failure),
            Guard(spill, null, failure)).ConfigureAwait(false);

        return new CaptionImportSummary
        {
            Entries = entries,
            Videos = videos,
            Damaged = [.. damaged.Concat(parseDamage).OrderBy(item => item.Position).Select(item => item.Entry)],
            UnpairedElements = unpaired,
            Counts = counts.Aggregate(new CleanupCounts(), (sum, next) => sum + (next ?? new CleanupCounts())),
        };
    }

    /// <summary>Completes the stage's output channel when it ends, and on failure cancels the other stages.</summary>
    private static async Task Guard(Task stage, Func<Exception?, bool>? complete, CancellationTokenSource failure)
    {
        try
        {
            await stage.ConfigureAwait(false);
            complete?.Invoke(null);
        }
        catch (Exception error)
        {
            complete?.Invoke(error);
            if (error is not OperationCanceledException)
            {
                await failure.CancelAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static FileStream OpenSequential(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });

    private static Dictionary<string, string> Metadata(CaptionImportOptions options, string input, int shardCount) => new()
    {
        ["videodata.captions.source"] = Path.GetFileName(input),
        ["videodata.captions.shard_count"] = shardCount.ToString(CultureInfo.InvariantCulture),
        ["videodata.captions.shard_size"] = options.ShardSize.ToString(CultureInfo.InvariantCulture),
        ["videodata.captions.shard_rule"] = "ShardPlanner: sha256(utf8(video_id))[0:8] big-endian, then ordinal id",
        ["videodata.captions.dedup"] = CaptionCleanerOptions.DedupName(options.Cleaner.Dedup),
        ["videodata.captions.seed"] = options.Cleaner.Seed.ToString(CultureInfo.InvariantCulture),
        ["videodata.captions.normalize"] = options.Cleaner.Normalize ? "true" : "false",
        ["videodata.captions.remove_markers"] = options.Cleaner.RemoveNonSpeechMarkers ? "true" : "false",
        ["videodata.captions.max_cue_characters"] = options.Cleaner.MaxCueCharacters.ToString(CultureInfo.InvariantCulture),
        ["videodata.captions.tokenizer"] = options.Tokenizer is null ? "bert-base-uncased (embedded)" : "bert wordpiece (custom vocabulary)",
        ["videodata.captions.segment_max_characters"] = BertWordPieceTokenizer.SegmentMaxCharacters.ToString(CultureInfo.InvariantCulture),
        ["videodata.captions.segment_max_tokens"] = BertWordPieceTokenizer.SegmentMaxTokens.ToString(CultureInfo.InvariantCulture),
        ["videodata.code_version"] = typeof(CaptionImporter).Assembly.GetName().Version?.ToString() ?? "unknown",
    };

    private static async Task WriteReportsAsync(string output, CaptionImportSummary summary, CancellationToken cancellationToken)
    {
        await WriteAtomicallyAsync(Path.Combine(output, "damaged.jsonl"), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            foreach (var entry in summary.Damaged)
            {
                writer.WriteStartObject();
                writer.WriteString("video_id", entry.VideoId);
                writer.WriteString("class", "captions");
                writer.WriteString("reason", entry.Reason);
                writer.WriteEndObject();
                writer.Flush();
                stream.WriteByte((byte)'\n');
                writer.Reset();
            }
        }, cancellationToken).ConfigureAwait(false);

        await WriteAtomicallyAsync(Path.Combine(output, "summary.json"), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            WriteSummary(writer, summary);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the summary as JSON (the form the CLI prints and summary.json holds).</summary>
    internal static void WriteSummary(Utf8JsonWriter writer, CaptionImportSummary summary)
    {
        var counts = summary.Counts;
        writer.WriteStartObject();
        writer.WriteNumber("entries", summary.Entries);
        writer.WriteNumber("videos", summary.Videos);
        writer.WriteNumber("damaged_entries", summary.Damaged.Count);
        writer.WriteNumber("shards", summary.Shards);
        writer.WriteNumber("shard_size", summary.ShardSize);
        writer.WriteNumber("cues", counts.Cues);
        writer.WriteNumber("segments", counts.Segments);
        writer.WriteNumber("unpaired_elements", summary.UnpairedElements);
        writer.WriteStartObject("dropped_cues");
        foreach (var (reason, count) in counts.DroppedByReason)
        {
            writer.WriteNumber(reason, count);
        }

        writer.WriteEndObject();
        writer.WriteStartObject("repaired_cues");
        writer.WriteNumber("negative-start", counts.RepairedNegativeStart);
        writer.WriteNumber("end-before-start", counts.RepairedEndBeforeStart);
        writer.WriteNumber("out-of-order", counts.RepairedOutOfOrder);
        writer.WriteNumber("truncated-long-text", counts.TruncatedLongText);
        writer.WriteEndObject();
        writer.WriteNumber("merged_by_dedup", counts.Kept - counts.Segments);
        writer.WriteEndObject();
    }

    private static async Task WriteAtomicallyAsync(string path, Action<Stream> write, CancellationToken cancellationToken)
    {
        var temporary = OutputFile.TemporaryPathFor(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            OutputFile.Publish(temporary, path);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
