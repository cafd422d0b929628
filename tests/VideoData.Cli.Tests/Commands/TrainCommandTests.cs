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
    public async Task Train_WorldSizeAboveOneWithoutRendezvous_RefusesAndExplains()
    {
        var config = WriteConfig("refuse", """{ "synthetic": { "videos": 16, "held_out_videos": 0 } }""", epochs: 1, batchVideos: 4);
        var result = await CliRunner.RunAsync(CleanEnvironment(("SLURM_PROCID", "1"), ("SLURM_NTASKS", "2")), "train", "--config", config);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("world size 2 (from SLURM_PROCID/SLURM_NTASKS)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--rendezvous HOST:PORT", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("MASTER_ADDR", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "refuse", "out")));
    }

    [Fact]
    public async Task Train_TwoRanksAsProcesses_TrainDataParallelWithOneLossAndOneSetOfWeights()
    {
        var config = WriteConfig("ddp", """{ "synthetic": { "videos": 48, "held_out_videos": 8, "min_seconds": 10, "max_seconds": 40 } }""", epochs: 2, batchVideos: 4);
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        // Rank 1 starts first and waits for rank 0; rank 0 reads torchrun's variables, rank 1 the flags.
        var rank1 = CliRunner.RunAsync(CleanEnvironment(("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", $"{port}")), "train", "--config", config, "--rank", "1", "--world-size", "2");
        var rank0 = CliRunner.RunAsync(CleanEnvironment(("RANK", "0"), ("WORLD_SIZE", "2")), "train", "--config", config, "--rendezvous", $"127.0.0.1:{port}");
        var results = await Task.WhenAll(rank0, rank1);

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr));
        static List<string> Lines(string text, string start) =>
            text.Split('\n').Where(l => l.StartsWith(start, StringComparison.Ordinal) || l.Contains(start, StringComparison.Ordinal)).ToList();
        // 48 videos in batches of 4: 12 plan batches, 6 steps per rank and epoch, each logging the loss averaged over both ranks.
        var losses = results.Select(r => Lines(r.Stdout, "(global ").Select(l => l[..l.IndexOf("  lr", StringComparison.Ordinal)]).ToList()).ToList();
        Assert.Equal(12, losses[0].Count);
        Assert.Equal(losses[0], losses[1]);
        var weights = results.Select(r => Assert.Single(Lines(r.Stdout, "weights sha256")).Split("sha256 ")[1]).ToList();
        Assert.Equal(weights[0], weights[1]);
        Assert.NotEmpty(Lines(results[0].Stdout, "checkpoint "));
        Assert.Empty(Lines(results[1].Stdout, "checkpoint "));
        var output = Path.Combine(_dir, "ddp", "out");
        Assert.Equal(12, File.ReadAllLines(Path.Combine(output, "train-log.jsonl")).Count(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)));
        Assert.Equal(12, File.ReadAllLines(Path.Combine(output, "train-log.rank-1.jsonl")).Count(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Train_TwoRanksStoppedAndResumed_EndWithTheUninterruptedWeights()
    {
        // 38 videos in batches of 4: the plan's last batch is short, so the ranks draw different amounts of dropout.
        var data = """{ "synthetic": { "videos": 38, "held_out_videos": 0, "min_seconds": 10, "max_seconds": 40 } }""";
        var straight = WriteConfig("straight", data, epochs: 2, batchVideos: 4);
        var interrupted = WriteConfig("interrupted", data, epochs: 2, batchVideos: 4);

        async Task<string[]> RunPairAsync(string config, params string[] extra)
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => CliRunner.RunAsync(
                CleanEnvironment(("RANK", $"{rank}"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", $"{port}")),
                ["train", "--config", config, .. extra])));
            Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr));
            return results.Select(r => r.Stdout.Split('\n').Single(l => l.Contains("weights sha256", StringComparison.Ordinal)).Split("sha256 ")[1]).ToArray();
        }

        var expected = await RunPairAsync(straight);
        // Stopped in epoch 1, after rank 1 trained on the short batch (plan batch 9, its step 4 of epoch 0).
        await RunPairAsync(interrupted, "--stop-after-steps", "7");
        var resumed = await RunPairAsync(interrupted, "--resume");
        Assert.Equal(expected[0], expected[1]);
        Assert.Equal(expected, resumed);
    }

    [Fact]
    public async Task TrainHelp_ListsEveryOptionWithDefaultsAndExamples()
    {
        var result = await CliRunner.RunAsync(null, "train", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--config <FILE>", "--shards <PATH|URI>", "--held-out-videos <N>", "--output <DIR>", "--epochs <N>", "--resume", "--stop-after-steps <N>", "--rank <R>", "--world-size <W>", "--rendezvous <HOST:PORT>", "--data-only", "--digests <FILE>" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("videodata train --config pipelines/videoclip-demo.json", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("[default: RANK, SLURM_PROCID", result.Stdout, StringComparison.Ordinal);
    }
}
