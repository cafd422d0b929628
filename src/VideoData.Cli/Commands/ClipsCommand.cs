using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Trainer;
using ShardCaption = VideoData.Shards.CaptionSegment;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata clips</c>: the overlapped clips training draws for one video in one epoch, or for every video of a plan
/// batch, through the training sampler itself (<see cref="ClipListing"/>) on videos read by the training store.
/// </summary>
internal static class ClipsCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static Command Create()
    {
        var shards = new Option<string?>("--shards")
        {
            Description = "Feature shards, a folder (out/demo/features/shards) or a URI (s3://bucket/features/shards/) [default: the config's \"data.shards\"].",
            HelpName = "PATH|URI",
        };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "The training pipeline file whose sampler settings, seed and feature width to use [default: the reference sampler, seed 0, 512-d].",
            HelpName = "FILE",
        };
        var video = new Option<string?>("--video") { Description = "The video whose clips to show (with --epoch).", HelpName = "ID" };
        var epoch = new Option<int?>("--epoch") { Description = "The epoch (0-based) whose clips to show (with --video).", HelpName = "E" };
        var seed = new Option<long?>("--seed") { Description = "Run seed (with --video) [default: the config's \"seed\", else 0].", HelpName = "N" };
        var plan = new Option<FileInfo?>("--plan")
        {
            Description = "A batch plan (OUTPUT/plans/epoch-NNNN.parquet or one from `videodata cluster`): show the clips of every video of --batch, with the plan's epoch and seed.",
            HelpName = "PLAN",
        };
        var batch = new Option<int?>("--batch") { Description = "Which batch of --plan (0-based, the plan's own numbering, before ranks take their share).", HelpName = "N" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of the table." };
        var command = new Command(
            "clips",
            "Shows the overlapped clips the training sampler draws (DESIGN §3) for one video in one epoch, or for each video of one batch of a plan: "
            + "per clip its video seconds [start, end) and the feature rows that reach the model, its caption segment range [first, end) with their times, "
            + "the text, and the tokens that reach the model of those in the span. The clips are computed by the sampler training uses, on the videos "
            + "as the training store reads them, so they are exactly what a run with the same sampler settings and seed trains on.\n\n"
            + "Examples:\n"
            + "  videodata clips --shards out/demo/features/shards --video demo002 --epoch 0\n"
            + "  videodata clips --config pipelines/videoclip-demo.json --video demo002 --epoch 2 --json\n"
            + "  videodata clips --config pipelines/videoclip-demo.json --plan out/train/videoclip-demo/plans/epoch-0001.parquet --batch 0")
        {
            shards, config, video, epoch, seed, plan, batch, json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var input = parseResult.GetValue(plan)?.FullName ?? parseResult.GetValue(video) ?? "(no video)";
            try
            {
                var loaded = parseResult.GetValue(config) is { } file ? TrainConfig.Load(file.FullName) : new TrainConfig();
                var featureDim = loaded.Model.ToOptions().FeatureDim;
                var sampler = loaded.Sampler.ToOptions(featureDim).Validate();
                var source = parseResult.GetValue(shards) ?? loaded.Data.Shards
                    ?? throw new ArgumentException("give --shards (or a --config whose data.shards names them).");

                BatchPlan? batchPlan = null;
                IReadOnlyList<string> ids;
                long runSeed;
                int runEpoch;
                int? batchIndex = null;
                if (parseResult.GetValue(plan) is { } planFile)
                {
                    if (parseResult.GetValue(video) is not null || parseResult.GetValue(epoch) is not null || parseResult.GetValue(seed) is not null)
                    {
                        throw new ArgumentException("--plan takes its videos, epoch and seed from the plan: do not combine it with --video, --epoch or --seed.");
                    }

                    batchPlan = await BatchPlan.ReadAsync(planFile.FullName, cancellationToken).ConfigureAwait(false);
                    var index = parseResult.GetValue(batch) ?? throw new ArgumentException("--plan needs --batch N.");
                    if (index < 0 || index >= batchPlan.Batches.Count)
                    {
                        throw new ArgumentException($"--batch {index} is outside the plan's {batchPlan.Batches.Count} batches (0..{batchPlan.Batches.Count - 1}).");
                    }

                    ids = batchPlan.Batches[index];
                    runSeed = batchPlan.Seed;
                    runEpoch = batchPlan.Epoch;
                    batchIndex = index;
                }
                else
                {
                    if (parseResult.GetValue(batch) is not null)
                    {
                        throw new ArgumentException("--batch needs --plan.");
                    }

                    var id = parseResult.GetValue(video) ?? throw new ArgumentException("give --video ID --epoch E, or --plan P --batch N.");
                    runEpoch = parseResult.GetValue(epoch) ?? throw new ArgumentException("--video needs --epoch E (clips differ from epoch to epoch).");
                    if (runEpoch < 0)
                    {
                        throw new ArgumentException($"--epoch {runEpoch} must not be negative.");
                    }

                    ids = [id];
                    runSeed = parseResult.GetValue(seed) ?? loaded.Seed;
                }

                var videos = await DescribeAsync(source, featureDim, ids, sampler, runSeed, runEpoch, cancellationToken).ConfigureAwait(false);
                if (parseResult.GetValue(json))
                {
                    object document = batchPlan is null
                        ? videos[0]
                        : new PlanBatchView(parseResult.GetValue(plan)!.FullName, batchPlan.Kind, batchIndex!.Value, runEpoch, runSeed, videos);
                    Console.WriteLine(JsonSerializer.Serialize(document, Json));
                }
                else
                {
                    if (batchPlan is not null)
                    {
                        Console.WriteLine($"plan {parseResult.GetValue(plan)!.FullName}: {batchPlan.Kind}, epoch {runEpoch}, seed {runSeed}; batch {batchIndex} of {batchPlan.Batches.Count}: {videos.Count} videos");
                    }

                    foreach (var view in videos)
                    {
                        PrintTable(view);
                    }
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("clips", input, ex, 2);
            }
        });
        return command;
    }

    /// <summary>Opens the shards as training does, and describes each video's clips with the caption texts from its shard.</summary>
    private static async Task<List<VideoClipsView>> DescribeAsync(
        string source, int featureDim, IReadOnlyList<string> ids, ClipSamplerOptions sampler, long seed, int epoch, CancellationToken cancellationToken)
    {
        using var resolver = new BlobStoreResolver(new BlobStoreOptions());
        var (blobs, key) = resolver.Resolve(source);
        var prefix = key.Length == 0 || key.EndsWith('/') ? key : key + "/";
        // Cached videos stay in memory: a batch's worth is small, and no cache budget means no disk cache either.
        var store = await FeatureShardVideoStore.OpenAsync(blobs, prefix, new FeatureShardStoreOptions { FeatureDim = featureDim }, cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            var texts = await CaptionTextsAsync(blobs, prefix, ids, cancellationToken).ConfigureAwait(false);
            var views = new List<VideoClipsView>(ids.Count);
            foreach (var id in ids)
            {
                var record = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
                var captions = texts[id];
                if (captions.Count != record.Segments.Count || captions.Where((c, i) => !c.TokenIds.AsSpan().SequenceEqual(record.Segments[i].TokenIds)).Any())
                {
                    throw new InvalidDataException($"Video '{id}': its shard's caption segments do not match what the training store read ({captions.Count} vs {record.Segments.Count}).");
                }

                var clips = ClipListing.Describe(record, captions.Select(c => c.Text).ToList(), sampler, seed, epoch);
                views.Add(new VideoClipsView(
                    id,
                    epoch,
                    seed,
                    record.Seconds,
                    record.Segments.Count,
                    clips.Select(c => new ClipView(
                        c.Clip,
                        c.Span.VideoStart,
                        c.Span.VideoEnd,
                        c.VideoTokens,
                        c.Span.TextStart,
                        c.Span.TextEnd,
                        c.TextStartSeconds,
                        c.TextEndSeconds,
                        c.SpanTokens,
                        c.CaptionTokens,
                        c.Text ?? string.Empty)).ToList()));
            }

            return views;
        }
    }

    /// <summary>The caption segments (with their texts, which training does not keep) of <paramref name="ids"/>, read from their shards.</summary>
    internal static async Task<Dictionary<string, IReadOnlyList<ShardCaption>>> CaptionTextsAsync(IBlobStore blobs, string prefix, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, IReadOnlyList<ShardCaption>>(StringComparer.Ordinal);
        await foreach (var blob in blobs.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = blob.Key[(blob.Key.LastIndexOf('/') + 1)..];
            if (wanted.Count == 0 || !name.EndsWith(".parquet", StringComparison.Ordinal) || name.StartsWith('.'))
            {
                continue;
            }

            var stream = await blobs.OpenReadAsync(blob.Key, cancellationToken).ConfigureAwait(false);
            var reader = await FeatureShardReader.OpenAsync(stream, blobs.UriOf(blob.Key), leaveOpen: false, cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                foreach (var id in wanted.Where(reader.Contains).ToList())
                {
                    found[id] = (await reader.ReadVideoAsync(id, cancellationToken).ConfigureAwait(false)).Captions;
                    wanted.Remove(id);
                }
            }
        }

        return wanted.Count == 0
            ? found
            : throw new KeyNotFoundException($"Video '{wanted.First()}' is in none of the feature shards under '{blobs.RootUri}{prefix}'.");
    }

    private static void PrintTable(VideoClipsView view)
    {
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"video {view.VideoId}: {view.Seconds} s, {view.Segments} caption segments; epoch {view.Epoch}, seed {view.Seed}: {view.Clips.Count} clips"));
        Console.WriteLine("  clip  video seconds (rows)   captions  caption time        tokens  text");
        foreach (var c in view.Clips)
        {
            var videoPart = string.Create(CultureInfo.InvariantCulture, $"[{c.VideoStart}, {c.VideoEnd}) ({c.VideoTokens})");
            var captionPart = string.Create(CultureInfo.InvariantCulture, $"[{c.TextStart}, {c.TextEnd})");
            var timePart = string.Create(CultureInfo.InvariantCulture, $"{c.TextStartSeconds:0.##}-{c.TextEndSeconds:0.##} s");
            var tokens = c.CaptionTokens == c.SpanTokens ? $"{c.SpanTokens}" : $"{c.CaptionTokens}/{c.SpanTokens}";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c.Clip,4}  {videoPart,-22} {captionPart,-9} {timePart,-19} {tokens,6}  {c.Text}"));
        }
    }

    /// <summary>One clip in the JSON output.</summary>
    private sealed record ClipView(
        int Clip,
        int VideoStart,
        int VideoEnd,
        int VideoTokens,
        int TextStart,
        int TextEnd,
        double TextStartSeconds,
        double TextEndSeconds,
        int SpanTokens,
        int CaptionTokens,
        string Text);

    /// <summary>One video's clips in the JSON output.</summary>
    private sealed record VideoClipsView(string VideoId, int Epoch, long Seed, int Seconds, int Segments, IReadOnlyList<ClipView> Clips);

    /// <summary>A plan batch in the JSON output.</summary>
    private sealed record PlanBatchView(string Plan, string Kind, int Batch, int Epoch, long Seed, IReadOnlyList<VideoClipsView> Videos);
}
