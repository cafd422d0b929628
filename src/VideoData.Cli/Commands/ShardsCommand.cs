using System.CommandLine;
using System.Text.Json;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;
using VideoData.Storage.Manifests;
using VideoData.Storage.Sharding;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata shards plan</c>: how a manifest's videos fall into shards and shards onto workers, by the rule
/// <c>videodata preprocess</c> shards by (hash buckets, <see cref="ShardPlanner.PlanBuckets"/>): with <c>--output</c> the
/// bucket count an existing output recorded in its <c>plan.json</c>, else the count a new output would get.
/// </summary>
internal static class ShardsCommand
{
    public static Command Create()
    {
        var command = new Command("shards", "Deterministic sharding of a corpus manifest (see 'shards plan').");
        command.Subcommands.Add(CreatePlan());
        return command;
    }

    private static Command CreatePlan()
    {
        var manifest = new Option<string>("--manifest")
        {
            Description = "Corpus manifest (.csv, .jsonl/.ndjson or .parquet) with a video_id column and a uri column or --uri-template; a local path or s3:// URI.",
            Required = true,
        };
        var template = new Option<string?>("--uri-template") { Description = "Video URI built from the id, e.g. s3://bucket/videos/{video_id}.mp4 (for manifests without a uri column, like HowTo100M's metadata CSV)." };
        var captionTemplate = new Option<string?>("--caption-uri-template") { Description = "Caption URI built from the id, e.g. s3://bucket/captions/{video_id}.vtt." };
        var shardSize = new Option<int>("--shard-size")
        {
            Description = "Videos per shard on average: a new output gets ceil(videos / shard size) hash buckets (ignored with --output when the output has a plan).",
            DefaultValueFactory = _ => ShardPlanner.DefaultShardSize,
        };
        shardSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--shard-size must be at least 1.");
            }
        });
        var shardIndex = new Option<int?>("--shard-index") { Description = "Show only the shards of this worker (0-based). Default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX when --shard-count or the scheduler gives a count; else all shards." };
        var shardCount = new Option<int?>("--shard-count") { Description = "Number of workers; adds a worker column (worker = shard id % count). Default: $SLURM_ARRAY_TASK_COUNT under Slurm." };
        var output = new Option<string?>("--output") { Description = "A preprocessing output (folder or s3:// prefix): use the bucket count recorded in its plan.json, as preprocess will." };
        var json = new Option<bool>("--json") { Description = "Print the plan as JSON instead of a table." };
        var withIds = new Option<bool>("--with-ids") { Description = "With --json, include every shard's video ids in order." };
        var storage = new StorageFlags();
        var command = new Command("plan", "Reads and validates a manifest and prints its shard table: shard, videos, first and last video id (and worker). "
            + "A video's shard is its hash bucket: with K = the first 8 bytes (big-endian) of SHA-256 of the UTF-8 video id and B buckets, shard = floor(K * B / 2^64). "
            + "B is fixed when an output is created (ceil(videos / --shard-size), recorded in OUTPUT/plan.json) and kept by every later run, so adding or removing "
            + "videos never moves another video between shards; shard sizes vary around the mean and a bucket may be empty. Worker w of W takes shards with id % W == w. "
            + "The plan depends only on the set of ids and B, not on row order.")
        {
            manifest,
            template,
            captionTemplate,
            shardSize,
            shardIndex,
            shardCount,
            output,
            json,
            withIds,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var source = parseResult.GetValue(manifest)!;
            try
            {
                var storageOptions = storage.Options(parseResult);
                var options = new ManifestOptions
                {
                    UriTemplate = parseResult.GetValue(template),
                    CaptionUriTemplate = parseResult.GetValue(captionTemplate),
                    LocalRoot = storageOptions.LocalRoot,
                };
                var slot = ResolveSlot(parseResult.GetValue(shardIndex), parseResult.GetValue(shardCount));
                using var resolver = new BlobStoreResolver(storageOptions);
                var entries = await ManifestReader.ReadAsync(source, resolver, options, cancellationToken).ConfigureAwait(false);
                var ids = entries.Select(e => e.VideoId).ToList();
                var buckets = ShardPlanner.BucketCountFor(ids.Count, parseResult.GetValue(shardSize));
                if (parseResult.GetValue(output) is { } target)
                {
                    var store = JobFiles.OpenOutput(resolver, target);
                    if (await store.ExistsAsync(ShardPlanFile.Key, cancellationToken).ConfigureAwait(false))
                    {
                        var stream = await store.OpenReadAsync(ShardPlanFile.Key, cancellationToken).ConfigureAwait(false);
                        await using (stream.ConfigureAwait(false))
                        {
                            using var bytes = new MemoryStream();
                            await stream.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
                            buckets = ShardPlanFile.Parse(bytes.ToArray(), store.UriOf(ShardPlanFile.Key)).BucketCount;
                        }

                        Console.Error.WriteLine($"videodata shards plan: {buckets} shards, as recorded in {store.UriOf(ShardPlanFile.Key)}");
                    }
                }

                var plan = ShardPlanner.PlanBuckets(ids, buckets);
                var onlyWorker = parseResult.GetValue(shardIndex) is not null || Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") is not null || Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX") is not null;
                var shards = slot is { } s && onlyWorker ? plan.ForWorker(s).ToList() : plan.Shards.ToList();
                if (parseResult.GetValue(json))
                {
                    PrintJson(source, plan, shards, slot, parseResult.GetValue(withIds));
                }
                else
                {
                    PrintTable(source, plan, shards, slot, onlyWorker);
                }

                return 0;
            }
            catch (ManifestException ex)
            {
                Console.Error.WriteLine($"videodata shards plan: {source}: invalid manifest: {ex.TotalProblems} problem{(ex.TotalProblems == 1 ? "" : "s")}");
                foreach (var line in ex.Message.Split('\n').Skip(1))
                {
                    Console.Error.WriteLine(line);
                }

                return 2;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return StorageFlags.Report("shards plan", source, "invalid input", ex);
            }
        });
        return command;
    }

    private static WorkerSlot? ResolveSlot(int? index, int? count)
    {
        var scheduled = Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") is not null || Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX") is not null;
        return index is null && count is null && !scheduled ? null : WorkerSlot.Resolve(index, count);
    }

    private static void PrintTable(string source, ShardPlan plan, List<Shard> shards, WorkerSlot? slot, bool onlyWorker)
    {
        Console.WriteLine($"{source}: {plan.VideoCount} videos, {plan.Shards.Count} hash-bucket shard{(plan.Shards.Count == 1 ? "" : "s")} of {plan.ShardSize} on average"
            + (slot is { } s ? onlyWorker ? $"; worker {s} takes {shards.Count}" : $"; {s.Count} workers" : ""));
        var worker = slot is not null ? "  worker" : "";
        Console.WriteLine($"{"shard",-12}  {"videos",7}{worker}  first → last");
        foreach (var shard in shards)
        {
            var column = slot is { } w ? $"  {shard.Id % w.Count,6}" : "";
            Console.WriteLine($"{shard.Name,-12}  {shard.VideoIds.Count,7}{column}  {(shard.VideoIds.Count == 0 ? "(empty bucket)" : $"{shard.VideoIds[0]} → {shard.VideoIds[^1]}")}");
        }
    }

    private static void PrintJson(string source, ShardPlan plan, List<Shard> shards, WorkerSlot? slot, bool withIds)
    {
        var document = new
        {
            manifest = source,
            videos = plan.VideoCount,
            rule = ShardPlanner.BucketRule,
            shard_size = plan.ShardSize,
            shard_count = plan.Shards.Count,
            worker = slot is { } s ? new { index = s.Index, count = s.Count } : null,
            shards = shards.Select(shard => new
            {
                id = shard.Id,
                name = shard.Name,
                videos = shard.VideoIds.Count,
                first = shard.VideoIds.Count == 0 ? null : shard.VideoIds[0],
                last = shard.VideoIds.Count == 0 ? null : shard.VideoIds[^1],
                worker = slot is { } w ? shard.Id % w.Count : (int?)null,
                video_ids = withIds ? shard.VideoIds : null,
            }),
        };
        Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
    }
}
