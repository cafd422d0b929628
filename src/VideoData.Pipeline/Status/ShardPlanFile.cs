using System.Text.Json;
using VideoData.Core.Failures;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Status;

/// <summary>One shard of a <see cref="ShardPlanFile"/>.</summary>
/// <param name="Id">The shard id.</param>
/// <param name="Videos">Videos assigned to it.</param>
public sealed record PlannedShard(int Id, int Videos);

/// <summary>
/// <c>OUTPUT/plan.json</c>: the job's shard plan in brief (shard ids and how many videos each holds, never the ids),
/// written by every preprocessing worker before it starts (all compute the same plan, so the content is the same
/// whoever writes it). It lets <c>videodata status</c> count shards not started and videos pending without reading
/// the manifest.
/// </summary>
/// <param name="Manifest">The manifest the plan was made from.</param>
/// <param name="ShardSize">Videos per shard.</param>
/// <param name="Videos">Videos in the manifest.</param>
/// <param name="Shards">Every shard of the plan, in id order.</param>
public sealed record ShardPlanFile(string Manifest, int ShardSize, int Videos, IReadOnlyList<PlannedShard> Shards)
{
    /// <summary>The key of the plan in the output store.</summary>
    public const string Key = "plan.json";

    /// <summary>The brief of <paramref name="plan"/>.</summary>
    public static ShardPlanFile From(ShardPlan plan, string manifest, int shardSize)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var shards = plan.Shards.Select(s => new PlannedShard(s.Id, s.VideoIds.Count)).OrderBy(s => s.Id).ToList();
        return new ShardPlanFile(manifest, shardSize, shards.Sum(s => s.Videos), shards);
    }

    /// <summary>Writes the plan unless the store already holds the same one (so hundreds of workers starting together do one read each, not one write each).</summary>
    public async Task WriteIfChangedAsync(IBlobStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(this, ShardLease.JsonOptions);
        if (await store.ExistsAsync(Key, cancellationToken).ConfigureAwait(false))
        {
            var stream = await store.OpenReadAsync(Key, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var existing = new MemoryStream();
                await stream.CopyToAsync(existing, cancellationToken).ConfigureAwait(false);
                if (existing.ToArray().AsSpan().SequenceEqual(bytes))
                {
                    return;
                }
            }
        }

        using var buffer = new MemoryStream(bytes);
        await store.WriteAsync(Key, buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses a plan file; <see cref="InvalidDataException"/> names <paramref name="source"/>.</summary>
    public static ShardPlanFile Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            var plan = JsonSerializer.Deserialize<ShardPlanFile>(json, ShardLease.JsonOptions);
            return plan?.Shards is null ? throw new InvalidDataException($"Plan {source} has no shards.") : plan;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Plan {source} is not a valid plan: {ex.Message}", ex);
        }
    }

    internal static bool IsNotFound(Exception ex) => ex is VideoDataException { FailureClass: FailureClass.Fetch } && ex.Message.Contains("not found", StringComparison.OrdinalIgnoreCase)
        || ex is FileNotFoundException;
}
