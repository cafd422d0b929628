using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Streaming;
using VideoData.Training.Tests.Distributed;
using VideoData.Training.Trainer;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace VideoData.Training.Tests.Trainer;

/// <summary>
/// Data-parallel training with several ranks as threads of this process (<see cref="InProcessGroup"/>); the same
/// trainer over MPI with ranks as processes is tested under mpirun in tests/VideoData.Cli.Tests.
/// </summary>
[Collection("TorchSharp training")]
public sealed class DistributedTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-ddp-").FullName;

    public DistributedTrainingTests()
    {
        // Several ranks block on each other inside a step; give the pool threads for the ranks and their assemblers.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Batches of 4, no dropout (the ranks would share libtorch's generator in one process), no evaluation.
    private static TrainerOptions TwoRankOptions(string output, int epochs, long bucketBytes = GradientBuckets.DefaultBucketBytes) =>
        TinyRun.Options(output, epochs, batchVideos: 4) with
        {
            Model = TinyRun.Options(output, 1).Model with { Dropout = 0 },
            EvalVideos = 0,
            BucketBytes = bucketBytes,
            DigestEverySteps = 1,
        };

    /// <summary>
    /// Creates one trainer per rank. Rank 0 is created first and alone until it blocks in its first collective (the
    /// broadcast of its weights), because every trainer seeds libtorch's process-wide generator and draws its
    /// initial weights from it; rank 1 then draws its own, which rank 0's broadcast replaces.
    /// </summary>
    private static async Task<VideoClipTrainer[]> CreateRanksAsync(InProcessGroup group, TinyRun[] runs, TrainerOptions options, IVideoStore train, string? resumeFrom = null)
    {
        var first = Task.Run(() => runs[0].Create(options, train, null, resumeFrom, group.Ranks[0]));
        await group.Entered(0);
        var rest = Enumerable.Range(1, group.WorldSize - 1).Select(r => Task.Run(() => runs[r].Create(options, train, null, resumeFrom, group.Ranks[r]))).ToList();
        return [await first, .. await Task.WhenAll(rest)];
    }

    private static float[] Weights(VideoClipModel model) =>
        model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Theory]
    [InlineData(GradientBuckets.DefaultBucketBytes)]
    [InlineData(4096L)] // 1,024 floats: many buckets, parameters split across them
    public async Task RunAsync_TwoRanks_KeepIdenticalWeightsEqualToAveragingTheirTwoBatchesGradients(long bucketBytes)
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(40, "ddp"));
        var output = Path.Combine(_dir, "shared");
        var group = new InProcessGroup(2);
        var runs = new[] { new TinyRun(), new TinyRun() };
        var trainers = await CreateRanksAsync(group, runs, TwoRankOptions(output, 1, bucketBytes), train);
        using var rank0 = trainers[0];
        using var rank1 = trainers[1];
        await Task.WhenAll(Task.Run(() => rank1.RunAsync()), Task.Run(() => rank0.RunAsync()));

        // 40 videos in batches of 4: 10 plan batches, 5 steps per rank, each on its own batch, one shared loss.
        Assert.All(runs, r => Assert.Equal(5, r.Steps.Count));
        Assert.Equal(runs[0].Steps.Select(s => s.Loss), runs[1].Steps.Select(s => s.Loss));
        Assert.Equal(Weights(rank0.Model), Weights(rank1.Model));
        Assert.All(runs[0].Steps, s => Assert.True(s.AllReduceTime > TimeSpan.Zero));
        Assert.NotEmpty(runs[0].Checkpoints);
        Assert.Empty(runs[1].Checkpoints);

        // The oracle: one process, one model, each step the mean of the gradients of plan batches 2s and 2s+1.
        var options = TwoRankOptions(output, 1);
        random.manual_seed(options.Seed);
        using var model = new VideoClipModel(options.Model);
        var parameters = model.parameters().ToList();
        using var adam = optim.Adam(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        var plan = BatchPlan.Shuffled(train.VideoIds, 4, options.Seed, 0);
        var batches = new List<ClipBatch>();
        await foreach (var batch in BatchStreamer.StreamAsync(train, plan, options.Streamer))
        {
            batches.Add(batch);
        }

        var losses = new List<float>();
        model.train();
        for (var step = 0; step < 5; step++)
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
            foreach (var group2 in adam.ParamGroups)
            {
                group2.LearningRate = options.LearningRateAt(step);
            }

            adam.step();
            losses.Add(lossSum / 2);
        }

        batches.ForEach(b => b.Dispose());
        var expected = Weights(model);
        var actual = Weights(rank0.Model);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"largest weight difference from the oracle {worst}");
        Assert.All(losses.Zip(runs[0].Steps.Select(s => s.Loss)), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-5, $"loss {p.Second}, oracle {p.First}"));
        // And the weights really moved: the oracle is not trivially equal to the initial model.
        random.manual_seed(options.Seed);
        using var initial = new VideoClipModel(options.Model);
        Assert.True(Weights(initial).Zip(expected, (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    [Fact]
    public async Task RunAsync_TwoRanksResumedMidEpoch_FollowTheUninterruptedTrajectory()
    {
        // 38 videos in batches of 4: the plan's last batch is short, so the ranks' batches differ in size. Dropout is off:
        // both ranks share this process's libtorch generator here (as processes they do not; the CLI test covers that).
        var train = new InMemoryVideoStore(TinyRun.Corpus(38, "ddp-resume"));

        async Task<(TinyRun Rank0, TinyRun Rank1, float[] Weights)> RunAsync(string output, long? stopAt, bool resume)
        {
            var group = new InProcessGroup(2);
            var runs = new[] { new TinyRun(), new TinyRun() };
            var trainers = await CreateRanksAsync(group, runs, TwoRankOptions(output, 2), train, resume ? output : null);
            using var rank0 = trainers[0];
            using var rank1 = trainers[1];
            await Task.WhenAll(Task.Run(() => rank1.RunAsync(stopAt)), Task.Run(() => rank0.RunAsync(stopAt)));
            Assert.Equal(Weights(rank0.Model), Weights(rank1.Model));
            return (runs[0], runs[1], Weights(rank0.Model));
        }

        var straight = await RunAsync(Path.Combine(_dir, "straight"), null, resume: false);
        var interrupted = Path.Combine(_dir, "interrupted");
        var first = await RunAsync(interrupted, 3, resume: false);
        var second = await RunAsync(interrupted, null, resume: true);

        Assert.Equal(10, straight.Rank0.Steps.Count);
        Assert.Equal(3, first.Rank0.Steps.Count);
        Assert.Equal(straight.Rank0.Steps.Select(s => s.Loss), first.Rank0.Steps.Concat(second.Rank0.Steps).Select(s => s.Loss));
        Assert.Equal(straight.Weights, second.Weights);
    }

    [Fact]
    public async Task RunAsync_OneRanksWeightsChangeBehindTheTrainersBack_EveryRankStopsNamingTheStep()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(40, "ddp-diverge"));
        var output = Path.Combine(_dir, "diverge");
        var group = new InProcessGroup(2);
        var runs = new[] { new TinyRun(), new TinyRun() };
        var options = TwoRankOptions(output, 1) with { DigestEverySteps = 2 };
        var trainers = await CreateRanksAsync(group, runs, options, train);
        using var rank0 = trainers[0];
        using var rank1 = trainers[1];
        // After its first step rank 1's model is nudged (a stand-in for a corrupted buffer or a skipped update).
        runs[1].AfterStep = report =>
        {
            if (report.GlobalStep == 0)
            {
                using var noGrad = no_grad();
                rank1.Model.parameters().First().add_(1e-3);
            }
        };

        var results = await Task.WhenAll(
            Task.Run(async () => await Record.ExceptionAsync(() => rank0.RunAsync())),
            Task.Run(async () => await Record.ExceptionAsync(() => rank1.RunAsync())));

        foreach (var ex in results)
        {
            var divergence = Assert.IsType<RankDivergenceException>(ex);
            // Checked after global steps 1, 3, …: the first check after the nudge catches it, and names rank 1.
            Assert.Contains("after global step 1", divergence.Message, StringComparison.Ordinal);
            Assert.Contains("rank 1 no longer match", divergence.Message, StringComparison.Ordinal);
        }

        // Step 1 is taken, but the check after it fails before the step is reported: only step 0 was.
        Assert.All(runs, r => Assert.Single(r.Steps));
    }

    [Fact]
    public void Create_OptionsNameAnotherRankThanTheCollective_ThrowsNamingBoth()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(8, "ddp-bad"));
        var group = new InProcessGroup(2);
        var ex = Assert.Throws<ArgumentException>(() => new TinyRun().Create(TinyRun.Options(_dir, 1) with { Rank = new TrainingRank(1, 3) }, train, null, collective: group.Ranks[0]));
        Assert.Contains("rank 1 of 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rank 0 of 2", ex.Message, StringComparison.Ordinal);
    }
}
