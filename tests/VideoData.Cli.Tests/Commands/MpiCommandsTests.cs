using System.Diagnostics;
using System.Text.Json;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Retrieval;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace VideoData.Cli.Tests.Commands;

/// <summary>
/// <c>videodata train</c> and <c>videodata cluster</c> as ranks of a real Open MPI job (mpirun, 2 ranks, as CI runs them),
/// on the good path and when a rank dies or hangs.
/// </summary>
[Collection("mpirun")]
public sealed class MpiCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-mpi-cli-").FullName;
    private readonly MpiRunner _mpi = new();

    public void Dispose()
    {
        _mpi.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string WriteConfig(string name, int videos, int epochs, int batchVideos, int checkpointEvery = 0, int heldOut = 0, double dropout = 0, string retrieval = "{ \"enabled\": false }") =>
        WriteFile(name, $$"""
        {
          // Tiny; without dropout (unless asked) so a one-process oracle can follow it.
          "name": "{{name}}",
          "output": {{JsonSerializer.Serialize(Path.Combine(_dir, name, "out"))}},
          "seed": 5,
          "epochs": {{epochs}},
          "batch_videos": {{batchVideos}},
          "threads": 1,
          "data": { "synthetic": { "videos": {{videos}}, "held_out_videos": {{heldOut}}, "min_seconds": 10, "max_seconds": 40 } },
          "sampler": { "clip_per_video": 2 },
          "streamer": { "assemblers": 1, "prefetch_depth": 2 },
          "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64, "dropout": {{dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}} },
          "optimizer": { "lr": 0.003, "warmup_steps": 2 },
          "checkpoint": { "every_steps": {{checkpointEvery}}, "keep": 2 },
          "eval": { "videos": {{(heldOut > 0 ? 4 : 0)}} },
          "retrieval": {{retrieval}}
        }
        """);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name + ".json");
        File.WriteAllText(path, text);
        return path;
    }

    private static List<JsonElement> Steps(string log) =>
        File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("kind").GetString() == "step").ToList();

    [Fact]
    public async Task Train_TwoRanksWithBatchB_FollowOneProcessTakingBatch2BAsItsTwoHalves()
    {
        // 48 videos, batches of B = 4: 12 plan batches, 6 steps; step s of rank r trains on plan batch 2s + r.
        var config = WriteConfig("ddp", videos: 48, epochs: 1, batchVideos: 4);
        var result = await _mpi.RunAsync(2, TimeSpan.FromMinutes(5), "train", "--config", config, "--json");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var summary = JsonDocument.Parse(result.Stdout.Trim()).RootElement; // rank 0's summary alone on stdout
        Assert.Equal(2, summary.GetProperty("world_size").GetInt32());
        Assert.StartsWith("MPI (Open MPI v4.", summary.GetProperty("collective").GetString(), StringComparison.Ordinal);
        Assert.True(summary.GetProperty("mean_all_reduce_ms").GetDouble() > 0);
        var output = Path.Combine(_dir, "ddp", "out");
        var rank0 = Steps(Path.Combine(output, "train-log.jsonl"));
        var rank1 = Steps(Path.Combine(output, "train-log.rank-1.jsonl"));
        Assert.Equal(6, rank0.Count);
        Assert.Equal(rank0.Select(s => s.GetProperty("loss").GetSingle()), rank1.Select(s => s.GetProperty("loss").GetSingle()));
        var digests = result.Stderr.Split('\n').Where(l => l.Contains("weights sha256", StringComparison.Ordinal)).Select(l => l.Split("sha256 ")[1].Split(' ')[0]).ToList();
        Assert.Equal(2, digests.Count);
        Assert.Equal(digests[0], digests[1]);
        Assert.Equal(summary.GetProperty("weights_sha256").GetString(), digests[0]);

        // The oracle: one process, batch 2B = plan batches 2s and 2s+1, its gradient the mean of the two halves' gradients.
        var loaded = TrainConfig.Load(config);
        var options = loaded.ToTrainerOptions();
        var store = (await PlannableVideos.ScreenAsync(new InMemoryVideoStore(SyntheticCorpus.Generate(loaded.Data.Synthetic.ToOptions(options.Model.FeatureDim, heldOut: false))))).Store;
        random.manual_seed(options.Seed);
        using var model = new VideoClipModel(options.Model);
        var parameters = model.parameters().ToList();
        using var adam = optim.Adam(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        var plan = BatchPlan.Shuffled(store.VideoIds, 4, options.Seed, 0);
        var batches = new List<ClipBatch>();
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, options.Streamer))
        {
            batches.Add(batch);
        }

        set_num_threads(1);
        model.train();
        for (var step = 0; step < 6; step++)
        {
            using var scope = NewDisposeScope();
            var grads = new List<Tensor>[2];
            float lossSum = 0;
            for (var half = 0; half < 2; half++)
            {
                var b = batches[(2 * step) + half];
                adam.zero_grad();
                var logits = model.EncodeText(b.Caps, b.Cmasks).mm(model.EncodeVideo(b.Vfeats, b.Vmasks).t());
                var labels = arange(logits.shape[0], ScalarType.Int64);
                var loss = (cross_entropy(logits, labels) + cross_entropy(logits.t(), labels)) / 2;
                loss.backward();
                lossSum += loss.item<float>();
                grads[half] = parameters.Select(p => p.grad!.detach().clone()).ToList();
            }

            for (var i = 0; i < parameters.Count; i++)
            {
                using var noGrad = no_grad();
                parameters[i].grad!.copy_((grads[0][i] + grads[1][i]) / 2);
            }

            nn.utils.clip_grad_norm_(parameters, options.ClipNorm);
            foreach (var group in adam.ParamGroups)
            {
                group.LearningRate = options.LearningRateAt(step);
            }

            adam.step();
            var logged = rank0[step].GetProperty("loss").GetSingle();
            Assert.True(Math.Abs(lossSum / 2 - logged) < 1e-5, $"step {step}: 2 ranks logged loss {logged}, one process with batch 2B {lossSum / 2}");
        }

        batches.ForEach(b => b.Dispose());
    }

    [Fact]
    public async Task Train_TwoRanksWithDropoutStoppedAndResumed_EndWithTheUninterruptedWeights()
    {
        // 22 videos in batches of 4: 6 plan batches, the last of 2 videos, so the ranks draw different amounts of dropout.
        var straight = WriteConfig("straight", videos: 22, epochs: 2, batchVideos: 4, dropout: 0.1);
        var interrupted = WriteConfig("interrupted", videos: 22, epochs: 2, batchVideos: 4, dropout: 0.1);

        async Task<string> RunAsync(string config, params string[] extra)
        {
            var result = await _mpi.RunAsync(2, TimeSpan.FromMinutes(4), ["train", "--config", config, "--json", .. extra]);
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
            return JsonDocument.Parse(result.Stdout.Trim()).RootElement.GetProperty("weights_sha256").GetString()!;
        }

        var expected = await RunAsync(straight);
        // Stopped in epoch 1, after rank 1 trained on the short batch (plan batch 5, its step 2 of epoch 0).
        await RunAsync(interrupted, "--stop-after-steps", "4");
        Assert.Equal(expected, await RunAsync(interrupted, "--resume"));
    }

    [Fact]
    public async Task Cluster_TwoRanks_WriteTheSingleProcessPlan()
    {
        // 3,000 random 48-d vectors: 93 queries in batches of 32, searched in tiles of 16 so both ranks get several.
        var random = new Random(11);
        var vectors = new float[3000 * 48];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = (float)((random.NextDouble() * 2) - 1);
        }

        var ids = Enumerable.Range(0, 3000).Select(i => $"v{(i * 7919) % 3000:D5}").ToArray();
        var embeddings = Path.Combine(_dir, "embeddings.parquet");
        await EmbeddingsFile.WriteAsync(VideoEmbeddings.Create(ids, vectors, 48, new EmbeddingLineage("test")), embeddings);
        string[] Arguments(string plan) => ["cluster", "--embeddings", embeddings, "--out", plan, "--seed", "3", "--epoch", "2", "--k", "40", "--threads", "1", "--json"];

        var one = await CliRunner.RunAsync(null, Arguments(Path.Combine(_dir, "one.parquet")));
        var two = await _mpi.RunAsync(2, TimeSpan.FromMinutes(3), Arguments(Path.Combine(_dir, "two.parquet")));

        Assert.True(one.ExitCode == 0, one.Stdout + one.Stderr);
        Assert.True(two.ExitCode == 0, two.Stdout + two.Stderr);
        var summary = JsonDocument.Parse(two.Stdout.Trim()).RootElement;
        Assert.Equal(2, summary.GetProperty("world_size").GetInt32());
        Assert.Equal(2, summary.GetProperty("rank_search_s").GetArrayLength());
        Assert.Equal(93, summary.GetProperty("queries").GetInt32());
        var single = await BatchPlan.ReadAsync(Path.Combine(_dir, "one.parquet"));
        var split = await BatchPlan.ReadAsync(Path.Combine(_dir, "two.parquet"));
        Assert.Equal(single.Batches, split.Batches);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "one.parquet")), File.ReadAllBytes(Path.Combine(_dir, "two.parquet")));
    }

    [Fact]
    public async Task Train_TwoRanksWithClusteredPlans_EachEpochsPlanIsTheSingleProcessClusterOfTheGatheredEmbeddings()
    {
        // 48 videos in batches of 4: before each epoch both ranks embed half the videos with the model, gather the table,
        // search half of the 12 queries each; rank 0 writes the plan and the embeddings it was made from.
        var config = WriteConfig("clustered", videos: 48, epochs: 2, batchVideos: 4, retrieval: """{ "enabled": true, "k": 7, "first_epoch": "features" }""");
        var result = await _mpi.RunAsync(2, TimeSpan.FromMinutes(5), "train", "--config", config, "--json");
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);

        var output = Path.Combine(_dir, "clustered", "out");
        foreach (var epoch in new[] { 0, 1 })
        {
            var trained = await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(output, epoch));
            Assert.Equal(BatchPlanKinds.Clustered, trained.Kind);
            var embeddings = ClusteredEpochPlanner.EmbeddingsPath(Path.Combine(output, "embeddings"), epoch);
            var single = Path.Combine(_dir, $"single-{epoch}.parquet");
            var cluster = await CliRunner.RunAsync(null, "cluster", "--embeddings", embeddings, "--out", single, "--epoch", $"{epoch}", "--seed", "5", "--batch-videos", "4", "--k", "7");
            Assert.True(cluster.ExitCode == 0, cluster.Stdout + cluster.Stderr);
            Assert.Equal((await BatchPlan.ReadAsync(single)).Batches, trained.Batches);
        }

        // Epoch 0 was clustered on the frozen features, epoch 1 on the model's embeddings after epoch 0.
        var embeddingSources = new List<string>();
        foreach (var epoch in new[] { 0, 1 })
        {
            embeddingSources.Add((await EmbeddingsFile.ReadAsync(ClusteredEpochPlanner.EmbeddingsPath(Path.Combine(output, "embeddings"), epoch))).Lineage.Source);
        }

        Assert.Equal([EmbeddingSources.FrozenFeatures, EmbeddingSources.Model], embeddingSources);
    }

    [Fact]
    public async Task Train_RankKilledMidEpoch_TheJobEndsWithAnErrorNamingItAndResumeFinishes()
    {
        // 160 videos in batches of 4: 20 steps per epoch for each of the 2 ranks, a checkpoint every 4 steps.
        var config = WriteConfig("killed", videos: 160, epochs: 2, batchVideos: 4, checkpointEvery: 4);
        var output = Path.Combine(_dir, "killed", "out");
        using var job = _mpi.Start(2, "train", "--config", config);
        var waiting = _mpi.WaitAsync(job, TimeSpan.FromMinutes(4), "train (rank 1 killed)");

        // Once rank 1 is past its first checkpoint (step 4), kill it outright, as the OOM killer or a node failure would.
        var log = Path.Combine(output, "train-log.rank-1.jsonl");
        while (!job.HasExited && (!File.Exists(log) || File.ReadAllLines(log).Count(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)) < 6))
        {
            await Task.Delay(200);
        }

        Assert.False(job.HasExited, "the job ended before rank 1 was killed");
        var victim = _mpi.FindRank(1) ?? throw new InvalidOperationException("rank 1's process was not found");
        using (var process = Process.GetProcessById(victim))
        {
            process.Kill();
        }

        // No hang: mpirun notices, ends rank 0 and reports which rank died (the wait above fails the test after 4 minutes).
        var result = await waiting;
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches("rank 1 .*(signal 9|Killed|exited)", result.Stdout + result.Stderr);
        Assert.Empty(_mpi.RankProcesses());

        // The last complete checkpoint is still there, and the job resumes from it to the end.
        var resumed = await _mpi.RunAsync(2, TimeSpan.FromMinutes(4), "train", "--config", config, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Contains("resumed at epoch 0, step ", resumed.Stdout, StringComparison.Ordinal);
        Assert.Contains("epoch 1 done", resumed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_RankStoppedMidEpoch_TheWatchdogEndsTheJobNamingTheCollective()
    {
        var config = WriteConfig("stopped", videos: 160, epochs: 2, batchVideos: 4);
        var output = Path.Combine(_dir, "stopped", "out");
        using var job = _mpi.Start(2, "train", "--config", config, "--collective-timeout", "5");
        var waiting = _mpi.WaitAsync(job, TimeSpan.FromMinutes(4), "train (rank 1 stopped)");
        var log = Path.Combine(output, "train-log.rank-1.jsonl");
        while (!job.HasExited && (!File.Exists(log) || File.ReadAllLines(log).Count(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)) < 3))
        {
            await Task.Delay(200);
        }

        Assert.False(job.HasExited, "the job ended before rank 1 was stopped");
        var victim = _mpi.FindRank(1) ?? throw new InvalidOperationException("rank 1's process was not found");
        // A rank that hangs (stopped, so mpirun sees nothing wrong): rank 0 waits in its next all-reduce until the watchdog fires.
        using (var stop = Process.Start("kill", ["-STOP", victim.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await stop.WaitForExitAsync();
        }

        var result = await waiting;
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches("rank 0 of 2: MPI_\\w+ \\(.*\\) has waited \\d+ s for the other ranks \\(limit 5 s\\)", result.Stderr);
        Assert.Empty(_mpi.RankProcesses());
    }
}
