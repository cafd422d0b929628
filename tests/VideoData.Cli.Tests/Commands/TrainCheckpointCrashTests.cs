using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;
using VideoData.Testing.S3;

namespace VideoData.Cli.Tests.Commands;

/// <summary>
/// The real <c>videodata train</c> process killed (SIGKILL, through the test-only <c>VIDEODATA_TEST_KILL_AT</c>) right after
/// each step of a checkpoint save, then resumed: the checkpoints left behind are whole, and the resumed run reaches the
/// uninterrupted run's losses at every step and its final weights bit for bit.
/// </summary>
public sealed class TrainCheckpointCrashTests(TrainCheckpointCrashTests.StraightRun straight, S3ServerFixture s3) : IClassFixture<TrainCheckpointCrashTests.StraightRun>, IClassFixture<S3ServerFixture>
{
    private const string KillVariable = "VIDEODATA_TEST_KILL_AT";

    /// <summary>A dying process's exit code: killed by SIGKILL.</summary>
    private const int Killed = 128 + 9;

    /// <summary>
    /// 12 videos in batches of 4, 2 epochs: 6 steps. Checkpoints every 2 steps and at epoch ends, keep 2: saves at global
    /// steps 2, 3 (end of epoch 0), 4 (mid epoch 1) and 6 (end).
    /// </summary>
    private static string Config(string folder) => $$"""
        {
          "name": "crash",
          "output": {{JsonSerializer.Serialize(Path.Combine(folder, "out"))}},
          "seed": 5,
          "epochs": 2,
          "batch_videos": 4,
          "threads": 1,
          "data": { "synthetic": { "videos": 12, "held_out_videos": 4, "min_seconds": 10, "max_seconds": 30 } },
          "sampler": { "clip_per_video": 2 },
          "streamer": { "assemblers": 1, "prefetch_depth": 2 },
          "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64 },
          "optimizer": { "lr": 0.003, "warmup_steps": 2 },
          "checkpoint": { "every_steps": 2, "keep": 2 },
          "eval": { "videos": 4 }
        }
        """;

    private static Dictionary<string, string?> Environment(string? killAt = null, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var environment = new Dictionary<string, string?>(extra ?? new Dictionary<string, string?>(), StringComparer.Ordinal) { [KillVariable] = killAt ?? string.Empty };
        foreach (var (rank, world) in TrainingRank.EnvironmentVariables)
        {
            environment[rank] = string.Empty;
            environment[world] = string.Empty;
        }

        return environment;
    }

    private static Task<VideoData.Testing.VideoDataCli.Result> TrainAsync(string folder, string? killAt, params string[] extra) =>
        TrainWithAsync(folder, killAt, null, extra);

    private static async Task<VideoData.Testing.VideoDataCli.Result> TrainWithAsync(string folder, string? killAt, IReadOnlyDictionary<string, string?>? environment, params string[] extra)
    {
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "config.json");
        if (!File.Exists(config))
        {
            await File.WriteAllTextAsync(config, Config(folder));
        }

        return await CliRunner.RunAsync(Environment(killAt, environment), ["train", "--config", config, .. extra]);
    }

    /// <summary>Every step the log recorded, in order (a resumed run logs again the steps after its checkpoint).</summary>
    private static List<(long GlobalStep, float Loss)> LoggedSteps(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "out", "train-log.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "step")
            .Select(e => (e.GetProperty("global_step").GetInt64(), e.GetProperty("loss").GetSingle()))
            .ToList();

    private static string Checkpoints(string folder) => Path.Combine(folder, "out", "checkpoints");

    private static List<string> Latest(string folder) =>
        File.ReadAllLines(Path.Combine(Checkpoints(folder), "latest")).Where(l => l.Length > 0).ToList();

    private static string ModelSha256(string folder) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Checkpoints(folder), Latest(folder)[0], "model.bin"))));

    /// <summary>The resumed run ends where the uninterrupted one did: same loss at every step, same weights, a tidy checkpoint folder.</summary>
    private void AssertContinuedBitForBit(string folder, string export)
    {
        var logged = LoggedSteps(folder);
        foreach (var group in logged.GroupBy(s => s.GlobalStep))
        {
            // Steps trained twice (after the checkpoint, before the kill; then again on resume) gave the same loss twice.
            Assert.Single(group.Select(s => s.Loss).Distinct());
        }

        Assert.Equal(straight.Losses, logged.GroupBy(s => s.GlobalStep).Select(g => (g.Key, g.First().Loss)).OrderBy(s => s.Key).ToList());
        Assert.Equal(straight.ModelSha256, ModelSha256(folder));
        Assert.Equal(straight.Export, File.ReadAllBytes(export));
        var latest = Latest(folder);
        Assert.Equal(2, latest.Count);
        Assert.Equal(latest.Order(StringComparer.Ordinal), Directory.GetDirectories(Checkpoints(folder)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["latest"], Directory.GetFiles(Checkpoints(folder)).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("checkpoint.model-written", new[] { "step-000000003", "step-000000002" })]
    [InlineData("checkpoint.files-written", new[] { "step-000000003", "step-000000002" })]
    [InlineData("checkpoint.published", new[] { "step-000000003", "step-000000002" })]
    [InlineData("checkpoint.latest-switched", new[] { "step-000000004", "step-000000003" })]
    [InlineData("checkpoint.pruned", new[] { "step-000000004", "step-000000003" })]
    public async Task Train_KilledAfterAStepOfAMidEpochSave_ResumesToTheUninterruptedLossesAndWeights(string point, string[] latestAfterKill)
    {
        var folder = Path.Combine(straight.Root, point);

        // The third save is the mid-epoch one at global step 4 (epoch 1, step 1).
        var killed = await TrainAsync(folder, $"{point}#3");
        Assert.True(killed.ExitCode == Killed, $"expected death by SIGKILL at {point}, got exit {killed.ExitCode}: {killed.Stdout}{killed.Stderr}");
        Assert.DoesNotContain("epoch 1 done", killed.Stdout, StringComparison.Ordinal);

        // What a crash there leaves: latest switched only from latest-switched on, and everything it lists is whole.
        Assert.Equal(latestAfterKill, Latest(folder));
        foreach (var name in latestAfterKill)
        {
            Assert.True(File.Exists(Path.Combine(Checkpoints(folder), name, "manifest.json")), $"{name} is listed but not whole after a kill at {point}");
        }

        var export = Path.Combine(folder, "model.safetensors");
        var resumed = await TrainAsync(folder, null, "--resume", "--export-safetensors", export);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        var from = long.Parse(latestAfterKill[0]["step-".Length..], CultureInfo.InvariantCulture);
        Assert.Contains($"(global step {from})", resumed.Stdout, StringComparison.Ordinal);
        Assert.Empty(resumed.Stderr);
        AssertContinuedBitForBit(folder, export);
    }

    [Fact]
    public async Task Train_KilledWhileResavingTheStepItStoppedAt_KeepsTheOldCheckpointAndResumesBitForBit()
    {
        var folder = Path.Combine(straight.Root, "resave");

        // Stopping at the end of epoch 0 saves step 3 with epoch 0 unfinished; the resumed run's epoch-end save is step 3 again.
        var stopped = await TrainAsync(folder, null, "--stop-after-steps", "3");
        Assert.True(stopped.ExitCode == 0, stopped.Stdout + stopped.Stderr);
        var old = Path.Combine(Checkpoints(folder), "step-000000003");
        var oldState = await File.ReadAllTextAsync(Path.Combine(old, "state.json"));

        var killed = await TrainAsync(folder, "checkpoint.published#1", "--resume");
        Assert.Equal(Killed, killed.ExitCode);
        Assert.Equal(["step-000000003", "step-000000002"], Latest(folder));
        Assert.Equal(oldState, await File.ReadAllTextAsync(Path.Combine(old, "state.json")));
        Assert.True(Directory.Exists(Path.Combine(Checkpoints(folder), "step-000000003-1")), "the re-save publishes under a new name");

        var export = Path.Combine(folder, "model.safetensors");
        var resumed = await TrainAsync(folder, null, "--resume", "--export-safetensors", export);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        AssertContinuedBitForBit(folder, export);
    }

    [Fact]
    public async Task Train_FreshRunIntoAUsedOutputFolder_RefusesAndOverwriteStartsAFreshRun()
    {
        var folder = Path.Combine(straight.Root, "fresh");
        var first = await TrainAsync(folder, null, "--stop-after-steps", "2");
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        var latestBefore = Latest(folder);

        var refused = await TrainAsync(folder, null, "--seed", "6");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("already holds a training run", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--resume", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--overwrite", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(latestBefore, Latest(folder));

        var both = await TrainAsync(folder, null, "--resume", "--overwrite");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give one of them", both.Stderr, StringComparison.Ordinal);

        // Over the old run, a fresh one with another seed trains on its own plans, not the old run's.
        var overwritten = await TrainAsync(folder, null, "--seed", "6", "--overwrite");
        Assert.True(overwritten.ExitCode == 0, overwritten.Stdout + overwritten.Stderr);
        Assert.Contains("--overwrite: removed the previous run's", overwritten.Stdout, StringComparison.Ordinal);
        foreach (var epoch in new[] { 0, 1 })
        {
            Assert.Equal(6, (await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(Path.Combine(folder, "out"), epoch))).Seed);
        }

        Assert.Equal(6, LoggedSteps(folder).Count);
    }

    [Fact]
    public async Task Train_OutputInS3_KilledBetweenAPushAndItsLatest_ResumesFromTheBucketOnAnotherMachineBitForBit()
    {
        var folder = Path.Combine(straight.Root, "s3");
        var bucket = await s3.CreateBucketAsync("train-output");
        var output = $"s3://{bucket}/runs/a";
        Dictionary<string, string?> Machine(string name)
        {
            // Each "machine" stages in its own folder: the resume has nothing local to lean on.
            var environment = s3.ProgramEnvironment();
            environment["VIDEODATA_TRAIN_STAGING"] = Directory.CreateDirectory(Path.Combine(folder, name)).FullName;
            return environment;
        }

        // The third push (after the mid-epoch save at global step 4) dies once its files are up and before its latest.
        var killed = await TrainWithAsync(folder, "remote.files-pushed#3", Machine("first"), "--output", output);
        Assert.True(killed.ExitCode == Killed, $"expected death by SIGKILL, got exit {killed.ExitCode}: {killed.Stdout}{killed.Stderr}");
        Assert.Equal(["step-000000003", "step-000000002"], (await ReadObjectAsync(bucket, "runs/a/checkpoints/latest")).Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var refused = await TrainWithAsync(folder, null, Machine("second"), "--output", output);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"output '{output}/' already holds a training run", refused.Stderr, StringComparison.Ordinal);

        var export = Path.Combine(folder, "model.safetensors");
        var resumed = await TrainWithAsync(folder, null, Machine("third"), "--output", output, "--resume", "--export-safetensors", export, "--json");
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Contains("(global step 3)", resumed.Stderr, StringComparison.Ordinal);
        Assert.Equal($"{output}/", JsonDocument.Parse(resumed.Stdout).RootElement.GetProperty("output").GetString());

        // The bucket now holds what a local uninterrupted run holds: the same losses, weights and export, two checkpoints.
        var logged = (await ReadObjectAsync(bucket, "runs/a/train-log.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "step")
            .Select(e => (e.GetProperty("global_step").GetInt64(), e.GetProperty("loss").GetSingle()))
            .GroupBy(s => s.Item1).Select(g => (g.Key, g.First().Item2)).OrderBy(s => s.Key).ToList();
        Assert.Equal(straight.Losses, logged);
        Assert.Equal(straight.Export, File.ReadAllBytes(export));
        var latest = (await ReadObjectAsync(bucket, "runs/a/checkpoints/latest")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["step-000000006", "step-000000004"], latest);
        using (var model = await s3.Client.GetObjectAsync(bucket, $"runs/a/checkpoints/{latest[0]}/model.bin"))
        using (var bytes = new MemoryStream())
        {
            await model.ResponseStream.CopyToAsync(bytes);
            Assert.Equal(straight.ModelSha256, Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray())));
        }

        var keys = (await s3.Client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket })).S3Objects.Select(o => o.Key).ToList();
        var checkpointFolders = keys.Where(k => k.StartsWith("runs/a/checkpoints/step-", StringComparison.Ordinal)).Select(k => k.Split('/')[3]).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(latest.Order(StringComparer.Ordinal), checkpointFolders);
        Assert.Contains("runs/a/plans/epoch-0000.parquet", keys);
        Assert.Contains("runs/a/plans/epoch-0001.parquet", keys);
        Assert.DoesNotContain(keys, k => k.Contains(".videodata-tmp-", StringComparison.Ordinal));
    }

    private async Task<string> ReadObjectAsync(string bucket, string key)
    {
        using var response = await s3.Client.GetObjectAsync(bucket, key);
        using var reader = new StreamReader(response.ResponseStream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task TrainHelp_ListsOverwriteAndTheExports()
    {
        var result = await CliRunner.RunAsync(null, "train", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--overwrite", "--export-pth <FILE>", "--export-safetensors <FILE>" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>The uninterrupted run every crash test compares with, run once per test class.</summary>
    public sealed class StraightRun : IAsyncLifetime
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("videodata-train-crash-").FullName;

        public List<(long GlobalStep, float Loss)> Losses { get; private set; } = [];

        public string ModelSha256 { get; private set; } = string.Empty;

        public byte[] Export { get; private set; } = [];

        public async Task InitializeAsync()
        {
            var folder = Path.Combine(Root, "straight");
            var export = Path.Combine(folder, "model.safetensors");
            var result = await TrainAsync(folder, null, "--export-safetensors", export);
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
            Losses = LoggedSteps(folder);
            Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), Losses.Select(s => s.GlobalStep));
            ModelSha256 = TrainCheckpointCrashTests.ModelSha256(folder);
            Export = await File.ReadAllBytesAsync(export);
        }

        public Task DisposeAsync()
        {
            Directory.Delete(Root, recursive: true);
            return Task.CompletedTask;
        }
    }
}
