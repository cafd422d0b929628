using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata plan</c>: one epoch's shuffled batch plan, computed from the feature shards exactly as <c>videodata train</c>
/// computes it before the epoch (the shards' video ids, leave out videos without captions, hold out the same videos,
/// seeded shuffle), without a model or a pass over the features. The plan-only step of the scale rehearsal
/// (infra/bench/scale.sh) and a way to look at what an epoch will contain.
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "Training pipeline file whose data.shards, seed, batch_videos and data.held_out_videos are the defaults (flags win)." };
        var shards = new Option<string?>("--shards") { Description = "Feature shards, a folder or a URI (s3://bucket/features/shards/) [default: the config's data.shards]." };
        var epoch = new Option<int>("--epoch") { Description = "The epoch to plan (0-based).", DefaultValueFactory = _ => 0 };
        var seed = new Option<long?>("--seed") { Description = "Run seed [default: the config's seed, else 0]." };
        var batchVideos = new Option<int?>("--batch-videos") { Description = "Videos per batch [default: the config's batch_videos, else 32]." };
        var heldOut = new Option<int?>("--held-out-videos") { Description = "Videos held out for evaluation, as training holds them out [default: the config's data.held_out_videos, else 1000]." };
        var output = new Option<string>("--out") { Description = "Where to write the plan (Parquet, the trainer's plan format).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object on standard output." };
        var command = new Command(
            "plan",
            "Writes the shuffled batch plan of one epoch from the feature shards, as `videodata train` makes it before that epoch "
            + "(captionless videos left out, held-out videos split off by SHA-256, seeded shuffle of (seed, epoch)), reading only the "
            + "shards' video_id and caption-start columns. Clustered plans need a model: use `videodata cluster`. "
            + "S3 settings come from the environment (VIDEODATA_S3_*, AWS_*).")
        {
            config, shards, epoch, seed, batchVideos, heldOut, output, json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                var fromConfig = parseResult.GetValue(config) is { } file ? TrainConfig.Load(file.FullName) : null;
                var source = parseResult.GetValue(shards) ?? fromConfig?.Data.Shards
                    ?? throw new ArgumentException("No feature shards: pass --shards or a --config with data.shards.");
                var options = new PlanOptions(
                    source,
                    parseResult.GetValue(epoch),
                    parseResult.GetValue(seed) ?? fromConfig?.Seed ?? 0,
                    parseResult.GetValue(batchVideos) ?? fromConfig?.BatchVideos ?? 32,
                    parseResult.GetValue(heldOut) ?? fromConfig?.Data.HeldOutVideos ?? 1000,
                    parseResult.GetValue(output)!);
                var summary = await RunAsync(options, cancellationToken).ConfigureAwait(false);
                if (parseResult.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(summary, PlanSummary.Json));
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{summary.Output}: epoch {summary.Epoch}, {summary.Batches} batches of up to {summary.BatchVideos} videos, {summary.PlannedVideos} videos "
                        + $"({summary.ShardVideos} in {summary.Shards} shards, {summary.WithoutCaptions} without captions, {summary.HeldOutVideos} held out) in {summary.Seconds:F1} s"));
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("plan", null, ex, ex is ArgumentException or FormatException ? 2 : 1);
            }
        });
        return command;
    }

    /// <summary>What to plan.</summary>
    internal sealed record PlanOptions(string Shards, int Epoch, long Seed, int BatchVideos, int HeldOutVideos, string Output);

    /// <summary>What was planned, for the summary line or <c>--json</c>.</summary>
    internal sealed record PlanSummary(string Output, int Epoch, long Seed, int Shards, int ShardVideos, int WithoutCaptions, int HeldOutVideos, int PlannedVideos, int Batches, int BatchVideos, double Seconds)
    {
        public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    }

    /// <summary>
    /// The steps <c>videodata train</c> takes before an epoch with a shuffled planner (TrainCommand.OpenDataAsync, then
    /// <see cref="ShuffledEpochPlanner"/>): the same census, <see cref="PlannableVideos.Exclude"/>,
    /// <see cref="VideoStoreSplit.Split"/> and <see cref="BatchPlan.Shuffled"/>, so the plan is the one training would use;
    /// only the ids come from the census pass instead of from opened shard readers.
    /// </summary>
    internal static async Task<PlanSummary> RunAsync(PlanOptions options, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchVideos, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.HeldOutVideos);
        var clock = Stopwatch.StartNew();
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = new S3StoreOptions().ApplyEnvironment() });
        var (blobs, key) = resolver.Resolve(options.Shards);
        var prefix = key.Length == 0 || key.EndsWith('/') ? key : key + "/";
        // The ids and the caption census are all a shuffled plan needs, read in one pass per shard without keeping the shard
        // open: FeatureShardVideoStore (what train opens) holds every shard's Parquet footer for the features it will read,
        // about 1 GB over HowTo100M's 298 shards. The plan is the same, because everything below orders the ids itself
        // (the held-out split by SHA-256, the shuffle by sorted id), and duplicate ids still fail in BatchPlan.Shuffled.
        var (ids, withoutCaptions, shardCount) = await ShardCaptionCensus.ReadIdsAsync(blobs, prefix, cancellationToken).ConfigureAwait(false);
        if (shardCount == 0)
        {
            throw new FileNotFoundException($"No feature shards (*.parquet) under '{blobs.RootUri}{prefix}'.");
        }

        var screened = PlannableVideos.Exclude(new IdsOnly(ids), withoutCaptions);
        var (train, heldOut) = VideoStoreSplit.Split(screened.Store, options.HeldOutVideos);
        var plan = BatchPlan.Shuffled(train.VideoIds, options.BatchVideos, options.Seed, options.Epoch);
        var path = Path.GetFullPath(options.Output);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await BatchPlan.WriteAsync(plan, path, cancellationToken).ConfigureAwait(false);
        return new PlanSummary(
            path,
            options.Epoch,
            options.Seed,
            shardCount,
            ids.Count,
            screened.WithoutCaptions.Count,
            heldOut?.VideoIds.Count ?? 0,
            plan.VideoCount,
            plan.Batches.Count,
            options.BatchVideos,
            Math.Round(clock.Elapsed.TotalSeconds, 3));
    }

    /// <summary>The shards' video ids as a store for the planning steps, which look at ids only; planning never reads a video.</summary>
    private sealed class IdsOnly(IReadOnlyList<string> ids) : IVideoStore
    {
        public IReadOnlyList<string> VideoIds => ids;

        public int FeatureDim => 0;

        public ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException($"videodata plan reads video ids only; it does not read video '{videoId}'.");
    }
}
