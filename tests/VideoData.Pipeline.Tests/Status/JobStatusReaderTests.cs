using VideoData.Core.Failures;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Tests.Status;

/// <summary>The aggregation behind <c>videodata status</c> on hand-built outputs in a local folder.</summary>
public sealed class JobStatusReaderTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-status-").FullName;
    private readonly BlobStoreResolver _resolver = new(new BlobStoreOptions());

    public void Dispose()
    {
        _resolver.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private IBlobStore Output => JobFiles.OpenOutput(_resolver, Path.Combine(_dir, "out"));

    private static JobStatusOptions At(DateTimeOffset now) => new() { Time = new FixedTime(now) };

    [Fact]
    public async Task ReadAsync_EmptyOutput_ReportsNothingDoneAndThatThePlanIsMissing()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "out"));

        var status = await JobStatusReader.ReadAsync(Output, At(Now));

        Assert.Equal(new ShardCounts(null, 0, 0, 0, 0, null), status.Shards);
        Assert.Equal(new VideoCounts(null, 0, 0, null, 0), status.Videos);
        Assert.Empty(status.ShardList);
        Assert.Empty(status.Workers);
        Assert.Null(status.Throughput.EtaSeconds);
        Assert.Contains(status.Problems, p => p.Contains("plan.json", StringComparison.Ordinal));
        Assert.Contains("not started unknown", JobStatusText.Render(status), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_HandBuiltJob_CountsEveryStateAndFlagsTheDeadWorkerTheCorruptLedgerAndTheStraggler()
    {
        var store = Output;
        await HandBuiltJob.PlanAsync(store, shards: 7, videosPerShard: 8);
        // Three published shards by two workers: 100 s, 90 s and 120 s (median 100 s).
        await HandBuiltJob.PublishedAsync(store, 0, 8, 2, "a", Now.AddHours(-3), Now.AddHours(-3).AddSeconds(100));
        await HandBuiltJob.PublishedAsync(store, 1, 8, 1, "b", Now.AddMinutes(-30).AddSeconds(-90), Now.AddMinutes(-30));
        await HandBuiltJob.PublishedAsync(store, 2, 8, 0, "a", Now.AddMinutes(-12), Now.AddMinutes(-10), "ignored");
        // Shard 3's ledger is corrupt: reported, not fatal, its videos not counted.
        await HandBuiltJob.WriteAsync(store, ShardLedger.KeyOf(3), "{\"shard_id\": 3, \"videos\": [ {\"video_id\": "u8.ToArray());
        // Shard 4: worker c died (heartbeat 20 min old, stale after 5 min) after committing 2 videos and 1 failure.
        await HandBuiltJob.LeaseAsync(store, 4, "c", Now.AddMinutes(-25), Now.AddMinutes(-20));
        await HandBuiltJob.WorkAsync(store, 4, 2, [("s004v007", FailureClass.Fetch, "s3://corpus/videos/s004v007.mp4: object not found.")]);
        // Shard 5: worker d is alive but has held it for 1000 s, 10x the median: a straggler.
        await HandBuiltJob.LeaseAsync(store, 5, "d", Now.AddSeconds(-1000), Now.AddSeconds(-10));
        await HandBuiltJob.WorkAsync(store, 5, 1, []);
        // A published shard body that must never be read.
        await HandBuiltJob.WriteAsync(store, "shards/shard-00000.parquet", new byte[1 << 20]);
        SetWorkTimes(4, Now.AddMinutes(-22));
        SetWorkTimes(5, Now.AddMinutes(-5));
        var before = _resolver.Counters;

        var status = await JobStatusReader.ReadAsync(store, At(Now));

        Assert.Equal(new ShardCounts(7, 3, 2, 1, 1, 1), status.Shards);
        Assert.Equal(ShardStates.Corrupt, status.ShardList.Single(s => s.ShardId == 3).State);
        Assert.Equal(ShardStates.Stale, status.ShardList.Single(s => s.ShardId == 4).State);
        Assert.Contains("presumed dead", status.ShardList.Single(s => s.ShardId == 4).Note, StringComparison.Ordinal);
        Assert.Equal(ShardStates.Running, status.ShardList.Single(s => s.ShardId == 5).State);
        Assert.Equal(ShardStates.NotStarted, status.ShardList.Single(s => s.ShardId == 6).State);
        Assert.Equal(5, Assert.Single(status.Stragglers).ShardId);

        // 21 done + 3 failed published, 3 done + 1 failed in work files; 56 planned.
        Assert.Equal(new VideoCounts(56, 24, 4, 28, status.Videos.SecondsOfVideo), status.Videos);
        var decode = status.Failures.Single(f => f.FailureClass == "decode");
        Assert.Equal(3, decode.Count);
        var message = Assert.Single(decode.TopMessages);
        Assert.Equal("<video>: Invalid data found when processing input", message.Message);
        Assert.Equal(new[] { "s000v000", "s000v001", "s001v000" }, message.ExampleVideoIds);
        Assert.Equal("<video>: object not found.", Assert.Single(status.Failures.Single(f => f.FailureClass == "fetch").TopMessages).Message);

        var c = status.Workers.Single(w => w.Worker == "c");
        Assert.True(c.Stale);
        Assert.Equal(Now.AddMinutes(-20), c.LastSeen);
        Assert.False(status.Workers.Single(w => w.Worker == "d").Stale);
        Assert.Equal(2, status.Workers.Single(w => w.Worker == "a").ShardsPublished);

        // Now: shard 1 wholly in the last hour (8), shard 2 (8), and 4 committed work files; shard 0 finished hours ago.
        Assert.Equal(20, status.Throughput.VideosPerHourNow, 3);
        Assert.Equal(28 / 20.0 * 3600, status.Throughput.EtaSeconds!.Value, 0);

        Assert.Contains(status.Problems, p => p.Contains("shard-00003.json", StringComparison.Ordinal));
        var read = _resolver.Counters.BytesRead - before.BytesRead;
        Assert.True(read < 64 * 1024, $"status read {read} bytes: it must never read shard bodies");
        var screen = JobStatusText.Render(status);
        Assert.Contains("STALE", screen, StringComparison.Ordinal);
        Assert.Contains("straggler", screen, StringComparison.Ordinal);
        Assert.Equal(status, JobStatusText.FromJson(JobStatusText.ToJson(status)), new JsonEquality());
    }

    [Fact]
    public async Task ReadAsync_LedgerPublishedWhileALeaseRetriesIt_CountsTheShardOnceAsDone()
    {
        var store = Output;
        await HandBuiltJob.PlanAsync(store, 1, 4);
        await HandBuiltJob.PublishedAsync(store, 0, 4, 2, "a", Now.AddHours(-1), Now.AddMinutes(-50));
        await HandBuiltJob.LeaseAsync(store, 0, "b", Now.AddMinutes(-1), Now);
        await HandBuiltJob.WorkAsync(store, 0, 1, []);

        var status = await JobStatusReader.ReadAsync(store, At(Now));

        Assert.Equal(new ShardCounts(1, 1, 0, 0, 0, 0), status.Shards);
        Assert.Equal(new VideoCounts(4, 2, 2, 0, status.Videos.SecondsOfVideo), status.Videos);
        Assert.Equal(0.0, status.Throughput.EtaSeconds!.Value);
    }

    [Fact]
    public async Task ReadAsync_VideoFailedInOneSegmentAndDoneInALaterOne_CountsOnceAsDone()
    {
        var store = Output;
        await HandBuiltJob.PlanAsync(store, 1, 3);
        await HandBuiltJob.LeaseAsync(store, 0, "b", Now.AddMinutes(-1), Now);
        // Run 1 committed v1 as failed and v2 as done; run 2 retried v1 and committed it as done: the resume state keeps the success.
        await SegmentAsync(store, "seg-aaaaaaaaaaaa-00000", LedgerEntry.Failure("v1", FailureClass.Fetch, "v1: object not found", 1), LedgerEntry.Success("v2", 1, 5));
        await SegmentAsync(store, "seg-bbbbbbbbbbbb-00000", LedgerEntry.Success("v1", 2, 7));

        var status = await JobStatusReader.ReadAsync(store, At(Now));

        Assert.Equal(new VideoCounts(3, 2, 0, 1, 0), status.Videos);
        Assert.Empty(status.Failures);
        Assert.Equal((ShardStates.Running, 2, 0), (status.ShardList[0].State, status.ShardList[0].Done, status.ShardList[0].Failed));
        Assert.Empty(status.Problems);

        static async Task SegmentAsync(IBlobStore store, string name, params LedgerEntry[] videos)
        {
            var record = new VideoData.Pipeline.Commit.SegmentRecord(name, 0, 1, null, videos, "w", Now.ToString("O"));
            await HandBuiltJob.WriteAsync(store, $"_work/shard-00000/{name}.json", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, ShardLedger.JsonOptions));
        }
    }

    [Theory]
    [InlineData("file:///c/videos/v1.mp4: Invalid data", "v1", "<video>: Invalid data")]
    [InlineData("v1: captions file 'caps/v1.vtt' is empty", "v1", "<video>: captions file '<video>' is empty")]
    [InlineData("decoder stalled for 60 s", "v1", "decoder stalled for 60 s")]
    public void MessagePattern_ReplacesTokensNamingTheVideo(string message, string videoId, string expected) =>
        Assert.Equal(expected, JobStatusReader.MessagePattern(message, videoId));

    [Fact]
    public void ShardStatsFrom_RecordsWorkerHostAndTimes_AndOldStatsStillParse()
    {
        var ledger = new ShardLedger(7, [LedgerEntry.Success("x", 1, 12)]);

        var stats = ShardStats.From(ledger, TimeSpan.FromSeconds(90), new PipelineProgress(), new FixedTime(Now));
        var parsed = ShardStats.Parse(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(stats, ShardLedger.JsonOptions), "test");
        var old = ShardStats.Parse("""{"shard_id":1,"videos":1,"done":1,"failed":0,"failures_by_class":{},"seconds_processed":3,"wall_seconds":2,"video_seconds_per_second":1.5,"decode_seconds":0,"encode_seconds":0,"write_seconds":0}"""u8, "old");

        Assert.Equal(WorkerIdentity.Id, parsed.Worker);
        Assert.Equal(Environment.MachineName, parsed.Host);
        Assert.Equal(Now.AddSeconds(-90), parsed.StartedAt);
        Assert.Equal(Now, parsed.FinishedAt);
        Assert.Null(old.Worker);
        Assert.Null(old.FinishedAt);
        Assert.Throws<InvalidDataException>(() => ShardStats.Parse("{"u8, "broken"));
    }

    private void SetWorkTimes(int shardId, DateTimeOffset time)
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_dir, "out", "_work", ShardLedger.ShardName(shardId))))
        {
            File.SetLastWriteTimeUtc(file, time.UtcDateTime);
        }
    }

    /// <summary>Equality of two statuses by their JSON (records holding lists compare lists by reference).</summary>
    private sealed class JsonEquality : IEqualityComparer<JobStatus>
    {
        public bool Equals(JobStatus? x, JobStatus? y) => JobStatusText.ToJson(x!) == JobStatusText.ToJson(y!);

        public int GetHashCode(JobStatus obj) => 0;
    }
}
