using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VideoData.Storage.Blobs;
using VideoData.Training.Alignment;
using VideoData.Training.Model;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata align</c>: scores and re-times every training caption segment with a trained model and writes the
/// aligned caption table; <c>videodata align inspect</c>: shows one video's segments from a table to a person.
/// </summary>
internal static class AlignCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "The training pipeline file: data (shards or synthetic), sampler layout, model sizes, device, threads.", Required = true, HelpName = "FILE" };
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "A checkpoint folder (OUTPUT/checkpoints/step-N) or a training output folder (its newest readable checkpoint).",
            Required = true,
            HelpName = "DIR",
        };
        var output = new Option<string>("--out") { Description = "The aligned caption table to write (Parquet): a path, or an object URI such as s3://bucket/run/aligned.parquet.", Required = true, HelpName = "TABLE" };
        var shards = new Option<string?>("--shards") { Description = "Feature shards (folder or URI) [default: the config's \"data.shards\"].", HelpName = "PATH|URI" };
        var window = new Option<int?>("--window") { Description = "W: whole-second offsets in [−W, W] are tried [default: the config's alignment.window_seconds, 8].", HelpName = "SECONDS" };
        var threshold = new Option<double?>("--threshold") { Description = "Segments scoring below this are dropped, except each video's best [default: the config's alignment.threshold, 0.3].", HelpName = "SCORE" };
        var epoch = new Option<int?>("--epoch") { Description = "The epoch the table is for, recorded in its lineage [default: none].", HelpName = "E" };
        var json = new Option<bool>("--json") { Description = "Print one JSON summary on stdout and the human-readable line on stderr." };
        var command = new Command(
            "align",
            "TAN-style caption alignment with a trained model: for every caption segment of the training videos the text tower embeds the segment, the "
            + "video tower embeds its seconds moved by each whole-second offset in [−W, W] (laid out as training clips), the best cosine picks the offset, and "
            + "the alignability score is that best cosine (in [−1, 1]). Writes a table (video_id, segment, original_start/end, aligned_start/end, "
            + "score, kept) with the checkpoint, epoch, W and threshold in its metadata. `videodata train` does the same between epochs with \"alignment\": {\"enabled\": true}.\n\n"
            + "Examples:\n"
            + "  videodata align --config pipelines/videoclip-tiny.json --checkpoint out/train/videoclip-tiny --out aligned.parquet\n"
            + "  videodata align inspect aligned.parquet --video train000003")
        {
            config, checkpoint, output, shards, window, threshold, epoch, json,
        };
        command.Subcommands.Add(CreateInspect());
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var file = parseResult.GetValue(config)!;
            try
            {
                var loaded = TrainConfig.Load(file.FullName);
                loaded = loaded with { Data = loaded.Data with { Shards = parseResult.GetValue(shards) ?? loaded.Data.Shards } };
                var trainer = loaded.ToTrainerOptions();
                var alignment = loaded.Alignment.ToOptions().Alignment;
                alignment = alignment with
                {
                    WindowSeconds = parseResult.GetValue(window) ?? alignment.WindowSeconds,
                    Threshold = parseResult.GetValue(threshold) ?? alignment.Threshold,
                    Threads = loaded.Threads,
                };
                alignment.Validate();

                // Parsed before the work: a malformed output URI fails now, not after the alignment.
                using var outputs = new CommandOutputs();
                var target = outputs.Target(parseResult.GetValue(output)!);
                var resolved = TrainingCheckpoint.Resolve(parseResult.GetValue(checkpoint)!);
                foreach (var warning in resolved.Warnings)
                {
                    Console.Error.WriteLine($"videodata align: warning: {warning}");
                }

                var state = TrainingCheckpoint.ReadState(resolved.Folder);
                if (state.Model != trainer.Model)
                {
                    throw new ArgumentException($"checkpoint '{resolved.Folder}' holds a model of sizes {state.Model}; the config describes {trainer.Model}.");
                }

                var device = TrainCommand.ResolveDevice(loaded.Device);
                using var model = new VideoClipModel(trainer.Model);
                model.load(Path.Combine(resolved.Folder, "model.bin"));
                if (device is not null)
                {
                    model.to(device);
                }

                var data = await TrainCommand.OpenDataAsync(loaded, trainer.Model.FeatureDim, cancellationToken).ConfigureAwait(false);
                var clock = Stopwatch.StartNew();
                AlignmentTable table;
                try
                {
                    table = await CaptionAligner.AlignAsync(data.Train, model, trainer.Streamer.Sampler, alignment, resolved.Folder, parseResult.GetValue(epoch), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await data.Owner.DisposeAsync().ConfigureAwait(false);
                }

                var elapsed = clock.Elapsed;
                var path = target.Name;
                await AlignmentTable.WriteAsync(table, target, cancellationToken).ConfigureAwait(false);

                var rows = table.Segments;
                var kept = rows.Count(r => r.Kept);
                var moved = rows.Count(r => r.OffsetSeconds != 0);
                var asJson = parseResult.GetValue(json);
                (asJson ? Console.Error : Console.Out).WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"align: {data.Train.VideoIds.Count} videos, {rows.Count} segments in {elapsed.TotalSeconds:F1} s; W {alignment.WindowSeconds} s, threshold {alignment.Threshold}; "
                    + $"{kept} kept ({(rows.Count == 0 ? 0 : 100.0 * kept / rows.Count):F1}%), {moved} moved; score p10/p50/p90 {Quantile(rows, 0.1):F3}/{Quantile(rows, 0.5):F3}/{Quantile(rows, 0.9):F3} → {path}"));
                if (asJson)
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        command = "align",
                        videos = data.Train.VideoIds.Count,
                        segments = rows.Count,
                        kept,
                        moved,
                        window_seconds = alignment.WindowSeconds,
                        threshold = alignment.Threshold,
                        checkpoint = resolved.Folder,
                        epoch = parseResult.GetValue(epoch),
                        seconds = elapsed.TotalSeconds,
                        table = path,
                    }));
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("align", file.FullName, ex, 2);
            }
        });
        return command;
    }

    private static Command CreateInspect()
    {
        var table = new Argument<FileInfo>("table") { Description = "An aligned caption table (from `videodata align` or OUTPUT/alignment/epoch-NNNN.parquet)." };
        var video = new Option<string>("--video") { Description = "The video whose segments to show.", Required = true, HelpName = "ID" };
        var shards = new Option<string?>("--shards") { Description = "Feature shards (folder or URI) to read the caption texts from; without it only times and scores are shown.", HelpName = "PATH|URI" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of the table." };
        var command = new Command(
            "inspect",
            "Shows one video's caption segments from an alignment table: original and aligned times, the move, the alignability score and whether the "
            + "sampler keeps the segment, with the caption text when --shards is given, so a person can judge the alignment. "
            + "Example: videodata align inspect aligned.parquet --video demo002 --shards out/demo/features/shards")
        {
            table, video, shards, json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var file = parseResult.GetValue(table)!;
            try
            {
                var read = await AlignmentTable.ReadAsync(file.FullName, cancellationToken).ConfigureAwait(false);
                var id = parseResult.GetValue(video)!;
                if (!read.ByVideo().TryGetValue(id, out var rows))
                {
                    throw new KeyNotFoundException($"video '{id}' has no rows in the table ({read.Segments.Select(s => s.VideoId).Distinct().Count()} videos are in it).");
                }

                IReadOnlyList<string?> texts = rows.Select(_ => (string?)null).ToList();
                if (parseResult.GetValue(shards) is { } source)
                {
                    using var resolver = new BlobStoreResolver(new BlobStoreOptions());
                    var (blobs, key) = resolver.Resolve(source);
                    var prefix = key.Length == 0 || key.EndsWith('/') ? key : key + "/";
                    var captions = (await ClipsCommand.CaptionTextsAsync(blobs, prefix, [id], cancellationToken).ConfigureAwait(false))[id];
                    if (captions.Count != rows.Length)
                    {
                        throw new InvalidDataException($"video '{id}' has {captions.Count} caption segments in the shards but {rows.Length} rows in the table: the table was made for other captions.");
                    }

                    texts = captions.Select(c => (string?)c.Text).ToList();
                }

                var l = read.Lineage;
                if (parseResult.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(
                        new
                        {
                            table = file.FullName,
                            checkpoint = l.Checkpoint,
                            epoch = l.Epoch,
                            window_seconds = l.WindowSeconds,
                            threshold = l.Threshold,
                            video_id = id,
                            segments = rows.Select((r, i) => new
                            {
                                segment = r.Segment,
                                original_start = r.OriginalStart,
                                original_end = r.OriginalEnd,
                                aligned_start = r.AlignedStart,
                                aligned_end = r.AlignedEnd,
                                offset = r.OffsetSeconds,
                                score = r.Score,
                                kept = r.Kept,
                                text = texts[i],
                            }),
                        },
                        Json));
                    return 0;
                }

                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{id}: {rows.Length} segments, {rows.Count(r => r.Kept)} kept; aligned by {l.Checkpoint}{(l.Epoch is { } e ? $" for epoch {e}" : string.Empty)}, W {l.WindowSeconds} s, threshold {l.Threshold}"));
                Console.WriteLine("   seg  original            aligned             move    score  kept  text");
                for (var i = 0; i < rows.Length; i++)
                {
                    var r = rows[i];
                    Console.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"  {r.Segment,4}  {$"[{r.OriginalStart:F2}, {r.OriginalEnd:F2})",-18}  {$"[{r.AlignedStart:F2}, {r.AlignedEnd:F2})",-18}  {r.OffsetSeconds,5:+0;-0;0}  {r.Score,7:F3}  {(r.Kept ? "yes" : "no"),-4}  {texts[i]}"));
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("align inspect", file.FullName, ex, 2);
            }
        });
        return command;
    }

    private static double Quantile(IReadOnlyList<AlignedSegment> rows, double q)
    {
        var sorted = rows.Select(r => r.Score).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
    }
}
