using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VideoData.Core.Failures;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Status;

/// <summary>One shard of a <see cref="ShardPlanFile"/>.</summary>
/// <param name="Id">The shard id (its hash bucket).</param>
/// <param name="Videos">Videos of the current manifest that fall into it.</param>
public sealed record PlannedShard(int Id, int Videos);

/// <summary>
/// <c>OUTPUT/plan.json</c>, the one plan file of an output: the sharding plan every worker shards by, and the plan in brief
/// that <c>videodata status</c> and reports read.
/// <para>
/// <b>I3: each video is in exactly one shard</b>, across reruns with a grown or shrunk manifest. An output is sharded by hash
/// bucket (<see cref="ShardPlanner.PlanBuckets"/>): a video's shard depends on its id and <see cref="BucketCount"/> only, never
/// on the other ids. <see cref="Rule"/>, <see cref="BucketCount"/>, <see cref="ShardSize"/> and <see cref="CreatedAt"/> are fixed
/// when the output is created (the file is created once, conditionally, so concurrent first workers agree on one) and no later
/// run changes them; every later run of any worker shards by them instead of deriving a count from its manifest or
/// <c>shard_size</c>. Every ledger repeats the plan (rule, bucket count, digest of its ids), and a ledger made under another
/// plan (including the consecutive cuts of earlier versions) stops the run with an error naming the shard, never silently.
/// </para>
/// <para>
/// The brief (<see cref="Manifest"/>, <see cref="Videos"/>, <see cref="Shards"/>) describes the manifest of the latest run: a
/// run whose manifest gives another brief replaces it (conditionally on the version it read, keeping the fixed fields), so
/// status counts shards not started and videos pending without reading the manifest. Only <see cref="ResolveAsync"/> writes
/// the file; <see cref="Parse"/> is the only reader.
/// </para>
/// </summary>
/// <param name="Rule">The sharding rule, <see cref="ShardPlanner.BucketRule"/>.</param>
/// <param name="BucketCount">Shards of the output (hash buckets, empty ones included).</param>
/// <param name="ShardSize">The <c>shard_size</c> the bucket count was derived from when the output was created.</param>
/// <param name="CreatedAt">When the output's plan was recorded (UTC).</param>
/// <param name="Manifest">The manifest of the latest run.</param>
/// <param name="Videos">Videos in that manifest.</param>
/// <param name="Shards">Every shard, in id order, with that manifest's video count.</param>
public sealed record ShardPlanFile(string Rule, int BucketCount, int ShardSize, DateTimeOffset CreatedAt, string Manifest, int Videos, IReadOnlyList<PlannedShard> Shards)
{
    /// <summary>The key of the plan in the output store.</summary>
    public const string Key = "plan.json";

    /// <summary>The plan file for <paramref name="plan"/> (a bucket plan) made from <paramref name="manifest"/>.</summary>
    public static ShardPlanFile From(ShardPlan plan, string manifest, int shardSize, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var shards = plan.Shards.Select(s => new PlannedShard(s.Id, s.VideoIds.Count)).OrderBy(s => s.Id).ToList();
        return new ShardPlanFile(ShardPlanner.BucketRule, shards.Count, shardSize, createdAt, manifest, shards.Sum(s => s.Videos), shards);
    }

    /// <summary>The plan file as stored (snake_case JSON).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ShardLease.JsonOptions);

    /// <summary>
    /// Reads the output's plan, or records one for <paramref name="videoIds"/> at <paramref name="shardSize"/> per shard when the
    /// output has none, and returns it with the bucket plan of <paramref name="videoIds"/> under it. Refreshes the brief when the
    /// manifest changed; logs when <paramref name="shardSize"/> differs from the recorded one (the recorded bucket count is kept).
    /// </summary>
    internal static async Task<(ShardPlanFile File, ShardPlan Plan)> ResolveAsync(
        IBlobStore output, IReadOnlyCollection<string> videoIds, string manifest, int shardSize, TimeProvider time, Action<string> log, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await output.ReadVersionedAsync(Key, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                var recorded = Parse(existing.Content, output.UriOf(Key));
                if (recorded.ShardSize != shardSize && attempt == 0)
                {
                    log($"output plan: {recorded.BucketCount} shards (made with shard_size {recorded.ShardSize}) is kept; shard_size {shardSize} applies to new outputs only, so no video moves between shards");
                }

                var plan = ShardPlanner.PlanBuckets(videoIds, recorded.BucketCount);
                var current = From(plan, manifest, recorded.ShardSize, recorded.CreatedAt);
                if (current.ToJson().AsSpan().SequenceEqual(existing.Content))
                {
                    return (recorded, plan);
                }

                // The manifest changed (or this is the first run of a new version over the file): refresh the brief only.
                if (await output.TryReplaceAsync(Key, current.ToJson(), existing.Version, cancellationToken).ConfigureAwait(false) is not null)
                {
                    return (current, plan);
                }

                continue; // another worker replaced it in between: read again
            }

            // A new output. Ledgers without a plan were made by an earlier version under consecutive cuts: refuse to mix.
            await foreach (var blob in output.ListAsync("ledger/", cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException(
                    $"{output.UriOf(blob.Key)} exists but the output has no {Key}: it was made by an earlier version that cut shards " +
                    "consecutively, and hash-bucket shards would duplicate its videos. Write to a new output.");
            }

            var bucketPlan = ShardPlanner.PlanBuckets(videoIds, ShardPlanner.BucketCountFor(videoIds.Count, shardSize));
            var created = From(bucketPlan, manifest, shardSize, time.GetUtcNow());
            if (await output.TryCreateAsync(Key, created.ToJson(), cancellationToken).ConfigureAwait(false) is not null)
            {
                log($"output plan: {created.BucketCount} shards by hash bucket ({videoIds.Count} videos, shard_size {shardSize}), recorded in {output.UriOf(Key)}");
                return (created, bucketPlan);
            }

            // Another worker recorded its plan first: read and use that one.
        }

        throw new InvalidOperationException($"{output.UriOf(Key)}: could neither read nor record the output's plan (other workers kept changing it).");
    }

    /// <summary>The plan a shard's ledger records: this plan's rule and bucket count plus the digest of the shard's video ids.</summary>
    internal ShardPlanInfo ForShard(IEnumerable<string> videoIds) => new(Rule, BucketCount, Digest(videoIds));

    /// <summary>SHA-256 (hex) over the ids in ordinal order, each followed by a newline.</summary>
    internal static string Digest(IEnumerable<string> videoIds)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in videoIds.Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(id + "\n"));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Parses a plan file; <see cref="InvalidDataException"/> names <paramref name="source"/> and the problem.</summary>
    public static ShardPlanFile Parse(ReadOnlySpan<byte> json, string source)
    {
        ShardPlanFile? plan;
        try
        {
            plan = JsonSerializer.Deserialize<ShardPlanFile>(json, ShardLease.JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Plan {source} is not a valid plan: {ex.Message}", ex);
        }

        if (plan is null || plan.Shards is null)
        {
            throw new InvalidDataException($"Plan {source} has no shards.");
        }

        if (plan.Rule != ShardPlanner.BucketRule || plan.BucketCount < 1)
        {
            throw new InvalidDataException($"Plan {source}: sharding rule '{plan.Rule}' with {plan.BucketCount} buckets is not one this version knows ({ShardPlanner.BucketRule}).");
        }

        return plan;
    }

    internal static bool IsNotFound(Exception ex) => ex is VideoDataException { FailureClass: FailureClass.Fetch } && ex.Message.Contains("not found", StringComparison.OrdinalIgnoreCase)
        || ex is FileNotFoundException;
}
