using System.Text.Json;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Tests.Commands;

public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-train-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>No launcher variables from the machine running the tests: each test says what rank it is.</summary>
    private static Dictionary<string, string?> CleanEnvironment(params (string Name, string Value)[] set)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (rank, world) in TrainingRank.EnvironmentVariables)
        {
            environment[rank] = string.Empty;
            environment[world] = string.Empty;
        }

        environment["MASTER_ADDR"] = string.Empty;
        environment["MASTER_PORT"] = string.Empty;
        foreach (var (name, value) in set)
        {
            environment[name] = value;
        }

        return environment;
    }

    private string WriteConfig(string name, string data, int epochs, int batchVideos) =>
        WriteFile(name, $$"""
        {
          // A tiny, fast run for tests.
          "name": "{{name}}",
          "output": {{JsonSerializer.Serialize(Path.Combine(_dir, name, "out"))}},
          "seed": 5,
          "epochs": {{epochs}},
          "batch_videos": {{batchVideos}},
          "data": {{data}},
          "sampler": { "clip_per_video": 2 },
          "streamer": { "assemblers": 2, "prefetch_depth": 2 },
          "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64 },
          "optimizer": { "lr": 0.003, "warmup_steps": 2 },
          "checkpoint": { "every_steps": 0, "keep": 1 },
          "eval": { "videos": 4 }
        }
        """);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name + ".json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Train_ShardsWithAVideoWithoutCaptions_SkipsItOnceAndTrains()
    {
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 24, FeatureDim = 16, MinSeconds = 10, MaxSeconds = 30, Seed = 4 }).ToList();
        var silent = videos[9].VideoId;
        videos[9] = videos[9] with { Segments = [] };
        var shards = Path.Combine(_dir, "shards");
        await SyntheticShards.WriteAsync(videos, shards, videosPerShard: 10);
        var config = WriteConfig("skip", $$"""{ "shards": {{JsonSerializer.Serialize(shards)}}, "held_out_videos": 4 }""", epochs: 2, batchVideos: 8);

        var result = await CliRunner.RunAsync(CleanEnvironment(), "train", "--config", config);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var skipLines = result.Stdout.Split('\n').Where(l => l.Contains("without captions", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"train skip: skipped 1 video without captions ({silent}) of 24"], skipLines);
        Assert.Contains("19 videos, 4 held out", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("epoch 1 done", result.Stdout, StringComparison.Ordinal);
        var log = File.ReadAllLines(Path.Combine(_dir, "skip", "out", "train-log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var skipped = Assert.Single(log, e => e.GetProperty("kind").GetString() == "skipped");
        Assert.Equal(1, skipped.GetProperty("count").GetInt32());
        Assert.Equal(silent, skipped.GetProperty("video_ids")[0].GetString());
        // 19 training videos in batches of 8: 3 steps per epoch, and no plan names the skipped video.
        Assert.Equal(6, log.Count(e => e.GetProperty("kind").GetString() == "step"));
        foreach (var epoch in new[] { 0, 1 })
        {
            var plan = await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(Path.Combine(_dir, "skip", "out"), epoch));
            Assert.Equal(19, plan.VideoCount);
            Assert.DoesNotContain(silent, plan.Batches.SelectMany(b => b));
        }
    }

    [Fact]
    public async Task TrainDataOnly_WorldSizes1To3AsProcesses_RanksTogetherStreamTheSingleProcessBatches()
    {
        // 40 videos in batches of 4: 10 plan batches per epoch; 3 ranks take 3 each and drop the 10th.
        var config = WriteConfig("ranks", """{ "synthetic": { "videos": 40, "held_out_videos": 0, "min_seconds": 10, "max_seconds": 40, "seed": 2 } }""", epochs: 2, batchVideos: 4);

        async Task<List<JsonElement>> RunWorldAsync(int world, Func<int, (Dictionary<string, string?> Environment, string[] Extra)> launch)
        {
            var runs = Enumerable.Range(0, world).Select(async rank =>
            {
                // Every rank gets the same --digests argument, as a launcher gives it; {rank} keeps their files apart.
                var digests = Path.Combine(_dir, "ranks", $"w{world}-r{rank}.jsonl");
                var (environment, extra) = launch(rank);
                var result = await CliRunner.RunAsync(environment, ["train", "--config", config, "--data-only", "--digests", Path.Combine(_dir, "ranks", $"w{world}-r{{rank}}.jsonl"), .. extra]);
                Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
                Assert.Contains($"epoch 1: rank {rank} of {world}: {10 / world} of the plan's 10 batches", result.Stdout, StringComparison.Ordinal);
                return File.ReadAllLines(digests).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            }).ToList();
            var perRank = await Task.WhenAll(runs);
            Assert.All(perRank, r => Assert.Equal(2 * (10 / world), r.Count));
            return perRank.SelectMany(r => r).ToList();
        }

        // The ranks of a world run concurrently, as a launcher starts them; each world reads its rank another way.
        var one = await RunWorldAsync(1, _ => (CleanEnvironment(), []));
        var two = await RunWorldAsync(2, rank => (CleanEnvironment(("RANK", $"{rank}"), ("WORLD_SIZE", "2")), []));
        var three = await RunWorldAsync(3, rank => (CleanEnvironment(("SLURM_PROCID", $"{rank}"), ("SLURM_NTASKS", "3"), ("RANK", "0"), ("WORLD_SIZE", "1")), ["--rank", $"{rank}", "--world-size", "3"]));

        static string Key(JsonElement e) => $"{e.GetProperty("epoch").GetInt32()}/{e.GetProperty("plan_batch").GetInt32()}";
        var single = one.ToDictionary(Key, e => (e.GetProperty("sha256").GetString(), e.GetProperty("video_ids").ToString(), e.GetProperty("clips").GetInt32()));
        Assert.Equal(20, single.Count);
        Assert.Equal(20, single.Values.Select(v => v.Item1).Distinct().Count());
        foreach (var (world, union) in new[] { (2, two), (3, three) })
        {
            var whole = 10 / world * world;
            var expected = single.Where(p => int.Parse(p.Key.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture) < whole).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
            var actual = union.Select(e => (Key: Key(e), Value: (e.GetProperty("sha256").GetString(), e.GetProperty("video_ids").ToString(), e.GetProperty("clips").GetInt32()))).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Select(p => p.Key), actual.Select(p => p.Key));
            Assert.Equal(expected.Select(p => p.Value), actual.Select(p => p.Value));
            Assert.All(union, e => Assert.Equal(e.GetProperty("plan_batch").GetInt32() % world, e.GetProperty("rank").GetInt32()));
        }
    }

    [Fact]
    public async Task Train_SeveralTasksWithoutMpi_RefusesAndSaysHowToLaunch()
    {
        var config = WriteConfig("refuse", """{ "synthetic": { "videos": 16, "held_out_videos": 0 } }""", epochs: 1, batchVideos: 4);
        var result = await CliRunner.RunAsync(CleanEnvironment(("SLURM_PROCID", "1"), ("SLURM_NTASKS", "2")), "train", "--config", config);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("SLURM_NTASKS = 2", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("mpirun -np 2 videodata train", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("srun --mpi=pmix -n 2", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "refuse", "out")));
    }

    [Fact]
    public async Task Train_RankFlagsWithoutDataOnly_RefusesBecauseMpiAssignsRanks()
    {
        var config = WriteConfig("flags", """{ "synthetic": { "videos": 16, "held_out_videos": 0 } }""", epochs: 1, batchVideos: 4);
        var result = await CliRunner.RunAsync(CleanEnvironment(), "train", "--config", config, "--rank", "1", "--world-size", "2");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--rank and --world-size only apply to --data-only", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "flags", "out")));
    }

    [Fact]
    public async Task TrainHelp_ListsEveryOptionWithDefaultsAndExamples()
    {
        var result = await CliRunner.RunAsync(null, "train", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--config <FILE>", "--shards <PATH|URI>", "--held-out-videos <N>", "--output <DIR>", "--epochs <N>", "--resume", "--stop-after-steps <N>", "--rank <R>", "--world-size <W>", "--collective-timeout <SECONDS>", "--json", "--data-only", "--digests <FILE>" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("videodata train --config pipelines/videoclip-demo.json", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("[default: RANK, SLURM_PROCID", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("mpirun -np 2 videodata train", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("--rendezvous", result.Stdout, StringComparison.Ordinal);
    }
}
