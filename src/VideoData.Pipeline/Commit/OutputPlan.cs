using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// <b>I3: each video is in exactly one shard</b>, across reruns with a grown or shrunk manifest. An output is sharded by
/// hash bucket (<see cref="ShardPlanner.PlanBuckets"/>): a video's shard depends on its id and the bucket count only, never
/// on the other ids. The bucket count is fixed when the output is created and recorded in <c>plan.json</c> (created once,
/// conditionally, so concurrent first workers agree on one); every later run of any worker reads it instead of deriving a
/// count from its manifest or <c>shard_size</c>. Every ledger repeats the plan (rule, bucket count, digest of its ids), and
/// a ledger made under another plan (including the consecutive cuts of earlier versions) stops the run with an error
/// naming the shard, never silently.
/// </summary>
/// <param name="Rule">The sharding rule, <see cref="ShardPlanner.BucketRule"/>.</param>
/// <param name="BucketCount">Shards of the output.</param>
/// <param name="ShardSize">The <c>shard_size</c> the count was derived from (informational).</param>
/// <param name="CreatedAt">When the plan was recorded (ISO-8601 UTC).</param>
public sealed record OutputPlan(string Rule, int BucketCount, int ShardSize, string CreatedAt)
{
    /// <summary>
    /// Reads the output's plan, or records one for <paramref name="videoCount"/> videos at <paramref name="shardSize"/> per
    /// shard when the output has none. Logs when the recorded plan differs from what the settings would give now.
    /// </summary>
    internal static async Task<OutputPlan> ResolveAsync(IBlobStore output, int videoCount, int shardSize, TimeProvider time, Action<string> log, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await output.ReadVersionedAsync(OutputLayout.PlanKey, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                var plan = Parse(existing.Content, output.UriOf(OutputLayout.PlanKey));
                if (plan.ShardSize != shardSize)
                {
                    log($"output plan: {plan.BucketCount} shards (made with shard_size {plan.ShardSize}) is kept; shard_size {shardSize} applies to new outputs only, so no video moves between shards");
                }

                return plan;
            }

            // A new output. Ledgers without a plan were made by an earlier version under consecutive cuts: refuse to mix.
            await foreach (var blob in output.ListAsync("ledger/", cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException(
                    $"{output.UriOf(blob.Key)} exists but the output has no {OutputLayout.PlanKey}: it was made by an earlier version that cut shards " +
                    "consecutively, and hash-bucket shards would duplicate its videos. Write to a new output.");
            }

            var created = new OutputPlan(ShardPlanner.BucketRule, ShardPlanner.BucketCountFor(videoCount, shardSize), shardSize, time.GetUtcNow().ToString("O"));
            if (await output.TryCreateAsync(OutputLayout.PlanKey, JsonSerializer.SerializeToUtf8Bytes(created, ShardLedger.JsonOptions), cancellationToken).ConfigureAwait(false) is not null)
            {
                log($"output plan: {created.BucketCount} shards by hash bucket ({videoCount} videos, shard_size {shardSize}), recorded in {output.UriOf(OutputLayout.PlanKey)}");
                return created;
            }

            // Another worker recorded its plan first: read and use that one.
        }

        throw new InvalidOperationException($"{output.UriOf(OutputLayout.PlanKey)}: could neither read nor create the output's plan.");
    }

    /// <summary>The plan a shard's ledger records: this plan plus the digest of the shard's video ids.</summary>
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

    private static OutputPlan Parse(byte[] content, string uri)
    {
        try
        {
            var plan = JsonSerializer.Deserialize<OutputPlan>(content, ShardLedger.JsonOptions) ?? throw new InvalidDataException($"{uri} is empty.");
            if (plan.Rule != ShardPlanner.BucketRule || plan.BucketCount < 1)
            {
                throw new InvalidDataException($"{uri}: sharding rule '{plan.Rule}' with {plan.BucketCount} buckets is not one this version knows ({ShardPlanner.BucketRule}).");
            }

            return plan;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{uri} is not a valid plan: {ex.Message}", ex);
        }
    }
}

/// <summary>The plan a shard's ledger was made under.</summary>
/// <param name="Rule">The sharding rule.</param>
/// <param name="BucketCount">Shards of the output.</param>
/// <param name="VideoIdsSha256">Digest of the ledger's video ids (<see cref="OutputPlan.Digest"/>).</param>
public sealed record ShardPlanInfo(string Rule, int BucketCount, string VideoIdsSha256);
