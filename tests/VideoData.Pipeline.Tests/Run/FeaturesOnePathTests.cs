using System.Text.Json;
using VideoData.Shards;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>
/// Issue 15's "one path": <c>videodata features</c> is a <c>preprocess</c> run (same stages, segment writer, ledger and
/// publisher), so for the same videos and settings both commands write the same rows, and <c>features</c> leaves a ledger and
/// a plan and survives a crash point as preprocess does. Real program, real FFmpeg, the test weights.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class FeaturesOnePathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-features-one-path-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Weights => RepoPaths.RequireSharedTestData("s3d", "s3d_weights.safetensors");

    /// <summary>The small settings of the pipeline tests, as flags both commands accept (dedicated ones and --set).</summary>
    private static readonly string[] s_settings =
    [
        "--weights", Weights, "--mixed-5c", "--feature-dtype", "float32",
        "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
        "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
        "--set", "segment_videos=1", "--set", "lease_stale_seconds=2", // one worker at a time: the rerun takes the killed one's lease over at once
    ];

    [Fact]
    public async Task FeaturesAndPreprocess_SameVideosAndSettings_WriteIdenticalRows_AndFeaturesLeavesALedgerAndPlan()
    {
        var videos = await VideosAsync();
        var manifest = Path.Combine(_dir, "manifest.csv");
        await File.WriteAllTextAsync(manifest, "video_id,uri\n" + string.Concat(Directory.GetFiles(videos).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileNameWithoutExtension(f)},{Path.GetFileName(f)}\n")));
        var preprocessed = Path.Combine(_dir, "preprocessed");
        var shard = Path.Combine(_dir, "features.parquet");

        var preprocess = await VideoDataCli.RunAsync(null, ["preprocess", "--manifest", manifest, "--set", $"source_root=\"{videos}\"", "--output", preprocessed, "--progress", "none", .. s_settings]);
        var features = await VideoDataCli.RunAsync(null, ["features", videos, "--out", shard, "--json", .. s_settings]);

        Assert.True(preprocess.ExitCode == 0, preprocess.Stderr);
        Assert.True(features.ExitCode == 0, features.Stderr);
        var expected = await PipelineCorpus.ReadShardsAsync(Path.Combine(preprocessed, "shards"));
        var actual = await PipelineCorpus.ReadShardsAsync(_dir, "features.parquet");
        Assert.Equal(["clip_a", "clip_b", "odd_1500ms"], actual.Keys.Order(StringComparer.Ordinal));
        AssertIdenticalRows(expected, actual);
        Assert.Equal(1.5, actual["odd_1500ms"].Duration, 6);
        Assert.Equal(2, actual["odd_1500ms"].Seconds);
        await using (var reader = await FeatureShardReader.OpenAsync(shard))
        {
            Assert.Equal("float32", reader.Metadata["videodata.feature_dtype"]);
        }

        using var summary = JsonDocument.Parse(features.Stdout.Trim());
        Assert.Equal("summary", summary.RootElement.GetProperty("event").GetString());
        Assert.Equal(shard, summary.RootElement.GetProperty("output").GetString());
        Assert.Equal(3, summary.RootElement.GetProperty("done").GetInt32());
        Assert.Equal(0, summary.RootElement.GetProperty("failed").GetInt32());

        // The job folder is a preprocess output: plan, manifest, ledger naming the data file --out is a copy of, stats.
        var job = shard + ".job";
        Assert.True(File.Exists(Path.Combine(job, "plan.json")));
        Assert.True(File.Exists(Path.Combine(job, "manifest.jsonl")));
        var ledger = await LedgerAsync(job);
        Assert.Equal(["clip_a", "clip_b", "odd_1500ms"], ledger.Done.Select(e => e.VideoId).Order(StringComparer.Ordinal));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(job, ledger.DataFile!)), await File.ReadAllBytesAsync(shard));
        Assert.True(File.Exists(Path.Combine(job, OutputLayout.StatsKey(0))));
    }

    [Fact]
    public async Task Features_KilledAfterASegmentCommit_RerunResumesAndPublishesTheSameShard()
    {
        var videos = await VideosAsync();
        var baseline = Path.Combine(_dir, "baseline.parquet");
        var shard = Path.Combine(_dir, "crashed.parquet");

        var uninterrupted = await VideoDataCli.RunAsync(null, ["features", videos, "--out", baseline, .. s_settings]);
        var crashed = await VideoDataCli.RunAsync(new Dictionary<string, string?> { ["VIDEODATA_CRASH_AT"] = CrashPoints.SegmentCommitted }, ["features", videos, "--out", shard, .. s_settings]);

        Assert.True(uninterrupted.ExitCode == 0, uninterrupted.Stderr);
        Assert.True(crashed.ExitCode == 137, $"exit {crashed.ExitCode}: {crashed.Stderr}");
        Assert.False(File.Exists(shard), "a killed run published --out");
        var job = shard + ".job";
        Assert.Single(Directory.GetFiles(Path.Combine(job, "_work", ShardLedger.ShardName(0)), "seg-*.json"));

        var rerun = await VideoDataCli.RunAsync(null, ["features", videos, "--out", shard, .. s_settings]);

        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Contains("wrote 3 video(s)", rerun.Stdout, StringComparison.Ordinal);
        AssertIdenticalRows(await PipelineCorpus.ReadShardsAsync(_dir, "baseline.parquet"), await PipelineCorpus.ReadShardsAsync(_dir, "crashed.parquet"));
        // Resumed, not redone: the committed video was not decoded again.
        using (var stats = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(job, OutputLayout.StatsKey(0)))))
        {
            Assert.Equal(2, stats.RootElement.GetProperty("videos_processed").GetInt32());
        }

        Assert.False(Directory.Exists(Path.Combine(job, "_work")), "work segments left behind");
        Assert.Empty(Directory.GetFiles(Path.Combine(job, "leases"), "*.json"));
        Assert.Empty(Directory.EnumerateFiles(_dir, ".videodata-tmp-*", SearchOption.AllDirectories));
    }

    /// <summary>Same ids, seconds, duration and bit-identical features (and mixed_5c): the same code wrote them.</summary>
    private static void AssertIdenticalRows(IReadOnlyDictionary<string, FeatureRecord> expected, IReadOnlyDictionary<string, FeatureRecord> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, want) in expected)
        {
            var got = actual[id];
            Assert.Equal(want.Seconds, got.Seconds);
            Assert.Equal(want.Duration, got.Duration);
            Assert.Equal(want.Features, got.Features);
            Assert.Equal(VideoFeaturesMixed5cDim, got.Mixed5cDim);
            Assert.Equal(want.Mixed5c, got.Mixed5c);
        }
    }

    private const int VideoFeaturesMixed5cDim = 1024;

    /// <summary>Two 2-second videos of the demo corpus and one of 1.5 s (a partial last second), in a folder of their own.</summary>
    private async Task<string> VideosAsync()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var videos = Directory.CreateDirectory(Path.Combine(_dir, "videos-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        File.Copy(Path.Combine(corpus.Folder, "videos", "demo000.mp4"), Path.Combine(videos, "clip_a.mp4"));
        File.Copy(Path.Combine(corpus.Folder, "videos", "demo002.mp4"), Path.Combine(videos, "clip_b.mp4"));
        FfmpegCli.Run("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24:duration=1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", Path.Combine(videos, "odd_1500ms.mp4"));
        return videos;
    }

    private static async Task<ShardLedger> LedgerAsync(string output) =>
        JsonSerializer.Deserialize<ShardLedger>(await File.ReadAllTextAsync(Path.Combine(output, OutputLayout.LedgerKey(0))), ShardLedger.JsonOptions)!;
}
