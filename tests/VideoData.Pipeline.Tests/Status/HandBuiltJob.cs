using System.Text;
using VideoData.Core.Failures;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Tests.Status;

/// <summary>A clock that stays where the test puts it.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>Writes the files of a preprocessing output by hand (the same writers the pipeline uses), to any store.</summary>
internal static class HandBuiltJob
{
    public static async Task PlanAsync(IBlobStore store, int shards, int videosPerShard)
    {
        var plan = new ShardPlanFile(ShardPlanner.BucketRule, shards, videosPerShard, DateTimeOffset.UnixEpoch, "manifest.csv", shards * videosPerShard,
            Enumerable.Range(0, shards).Select(i => new PlannedShard(i, videosPerShard)).ToList());
        await WriteAsync(store, ShardPlanFile.Key, plan.ToJson());
    }

    /// <summary>A published shard: ledger with <paramref name="failures"/> decode failures, stats by <paramref name="worker"/>.</summary>
    public static async Task<ShardLedger> PublishedAsync(IBlobStore store, int shardId, int videos, int failures, string worker, DateTimeOffset started, DateTimeOffset finished, string failureMessage = "Invalid data found when processing input")
    {
        var entries = Enumerable.Range(0, videos).Select(i =>
        {
            var id = $"s{shardId:D3}v{i:D3}";
            return i < failures
                ? LedgerEntry.Failure(id, FailureClass.Decode, $"s3://corpus/videos/{id}.mp4: {failureMessage}", 1)
                : LedgerEntry.Success(id, 1, 10 + i);
        }).ToList();
        var ledger = new ShardLedger(shardId, entries);
        await ledger.WriteAsync(store);
        var stats = new ShardStats(shardId, videos, videos - failures, failures, new Dictionary<string, int> { ["decode"] = failures },
            ledger.Done.Sum(e => (long)e.Seconds), (finished - started).TotalSeconds, 1, 1, 1, 1, worker, "node-" + worker, started, finished);
        await stats.WriteAsync(store, ShardProcessor.StatsKey(shardId), CancellationToken.None);
        return ledger;
    }

    public static async Task LeaseAsync(IBlobStore store, int shardId, string worker, DateTimeOffset acquired, DateTimeOffset heartbeat, int staleAfter = 300)
    {
        var lease = new ShardLease(shardId, worker, "node-" + worker, 4242, acquired, heartbeat, staleAfter);
        await WriteAsync(store, ShardLease.KeyOf(shardId), lease.ToJson());
    }

    /// <summary>
    /// A committed work segment of a shard not yet published: <paramref name="done"/> videos with features (its data file is
    /// not Parquet at all: status must never open it) and the <paramref name="failed"/> ones, as the segment writer commits them.
    /// </summary>
    public static async Task WorkAsync(IBlobStore store, int shardId, int done, IEnumerable<(string VideoId, FailureClass Class, string Message)> failed)
    {
        var segment = $"seg-{shardId:D12}-00000";
        var entries = Enumerable.Range(0, done).Select(i => LedgerEntry.Success($"w{shardId:D3}v{i:D3}", 1, 10))
            .Concat(failed.Select(f => LedgerEntry.Failure(f.VideoId, f.Class, f.Message, 1)))
            .ToList();
        var dataKey = $"_work/{ShardLedger.ShardName(shardId)}/{segment}.parquet";
        await WriteAsync(store, dataKey, Encoding.UTF8.GetBytes("not parquet; never read"));
        var record = new SegmentRecord(segment, shardId, 1, dataKey, entries, "worker", DateTimeOffset.UnixEpoch.ToString("O"));
        await WriteAsync(store, $"_work/{ShardLedger.ShardName(shardId)}/{segment}.json", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, ShardLedger.JsonOptions));
    }

    public static async Task WriteAsync(IBlobStore store, string key, byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        await store.WriteAsync(key, stream);
    }
}
