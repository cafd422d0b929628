using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Trainer;

[Collection("TorchSharp training")]
public sealed class VideoClipTrainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task RunAsync_SyntheticCorpus_HeldOutRecallFarAboveChance()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(192, "train"));
        var heldOut = new InMemoryVideoStore(TinyRun.Corpus(64, "held"));
        var run = new TinyRun();
        using var trainer = run.Create(TinyRun.Options(Path.Combine(_dir, "learn"), epochs: 4, batchVideos: 16), train, heldOut);
        var before = await trainer.EvaluateAsync();
        var epochs = await trainer.RunAsync();
        foreach (var e in epochs)
        {
            output.WriteLine($"epoch {e.Epoch}: loss {e.MeanLoss:F3}, R@1 {e.RecallAt1:P1}, R@5 {e.RecallAt5:P1}, data wait {e.DataWaitShare:P2}");
        }

        output.WriteLine($"before training: R@1 {before.RecallAt1:P1}");
        output.WriteLine($"median step {run.Steps.Select(s => s.StepTime.TotalMilliseconds).Order().ElementAt(run.Steps.Count / 2):F1} ms");
        Assert.Equal(4, epochs.Count);
        Assert.Equal(64, epochs[^1].EvalClips);
        // Chance is 1/64 ≈ 1.6 %.
        Assert.True(before.RecallAt1 < 0.15, $"untrained R@1 {before.RecallAt1} should be near chance");
        Assert.True(epochs[^1].RecallAt1 > 0.4, $"held-out R@1 {epochs[^1].RecallAt1} should be far above chance (1/64)");
        Assert.True(epochs[^1].MeanLoss < epochs[0].MeanLoss * 0.7, $"loss {epochs[0].MeanLoss} → {epochs[^1].MeanLoss} should fall");
    }

    [Fact]
    public async Task RunAsync_ResumedMidEpoch_FollowsTheUninterruptedTrajectory()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(40, "resume"));
        var heldOut = new InMemoryVideoStore(TinyRun.Corpus(16, "resume-held"));

        var straight = new TinyRun();
        using (var trainer = straight.Create(TinyRun.Options(Path.Combine(_dir, "straight"), epochs: 2), train, heldOut))
        {
            await trainer.RunAsync();
        }

        var interruptedDir = Path.Combine(_dir, "interrupted");
        var first = new TinyRun();
        using (var trainer = first.Create(TinyRun.Options(interruptedDir, epochs: 2), train, heldOut))
        {
            await trainer.RunAsync(stopAtGlobalStep: 3);
            Assert.Equal(new TrainingState(0, 3, 3, 17, 0, 1, trainer.Options.Model), trainer.State);
        }

        var second = new TinyRun();
        using (var trainer = second.Create(TinyRun.Options(interruptedDir, epochs: 2), train, heldOut, resumeFrom: interruptedDir))
        {
            Assert.Equal(3, trainer.State.GlobalStep);
            await trainer.RunAsync();
        }

        var resumed = first.Steps.Concat(second.Steps).ToList();
        Assert.Equal(10, straight.Steps.Count); // 2 epochs × 5 batches of 8 videos
        Assert.Equal(straight.Steps.Select(s => (s.Epoch, s.Step, s.GlobalStep)), resumed.Select(s => (s.Epoch, s.Step, s.GlobalStep)));
        for (var i = 0; i < resumed.Count; i++)
        {
            Assert.Equal(straight.Steps[i].LearningRate, resumed[i].LearningRate);
            Assert.Equal(straight.Steps[i].Loss, resumed[i].Loss);
        }

        Assert.Equal(straight.Epochs[^1].RecallAt1, second.Epochs[^1].RecallAt1);
        var straightPlan = await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(Path.Combine(_dir, "straight"), 1));
        var resumedPlan = await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(interruptedDir, 1));
        Assert.Equal(straightPlan.Batches.SelectMany(b => b), resumedPlan.Batches.SelectMany(b => b));
    }

    [Fact]
    public async Task RunAsync_AnyThread_StepsComputeWithTheConfiguredThreadCount()
    {
        // Results depend on libtorch's per-thread count, and a step may run on any pool thread an await resumes on,
        // some of which may have inherited another count (see IntraOpThreads): the trainer pins its own.
        var train = new InMemoryVideoStore(TinyRun.Corpus(24, "threads"));
        var cores = VideoData.Features.Runtime.IntraOpThreads.Resolve(0);
        // The explicit count first (1, what a retrieval worker sets, so pool threads left with it are nothing new), then
        // the default, which pins the threads that computed back.
        foreach (var threads in new[] { cores > 1 ? 1 : 2, 0 })
        {
            var run = new TinyRun();
            using var trainer = run.Create(TinyRun.Options(Path.Combine(_dir, $"threads-{threads}"), epochs: 1) with { EvalVideos = 0, Threads = threads }, train, null);
            await trainer.RunAsync();
            Assert.Equal(3, run.StepThreads.Count);
            Assert.All(run.StepThreads, n => Assert.Equal(threads == 0 ? cores : threads, n));
        }
    }

    [Fact]
    public void Create_ResumeFromNothing_ThrowsNamingThePath()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(8, "x"));
        var missing = Path.Combine(_dir, "no-such-run");
        Directory.CreateDirectory(missing);
        var ex = Assert.Throws<FileNotFoundException>(() => new TinyRun().Create(TinyRun.Options(missing, 1), train, null, resumeFrom: missing));
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Invalid_NameTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => (TinyRun.Options(_dir, 1) with { WarmupSteps = -1 }).Validate());
        Assert.Contains("WarmupSteps", ex.Message, StringComparison.Ordinal);
        var model = Assert.Throws<ArgumentException>(() => (TinyRun.Options(_dir, 1) with { Model = TinyRun.Options(_dir, 1).Model with { Heads = 5 } }).Validate());
        Assert.Contains("Heads", model.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LearningRateAt_WarmsUpLinearlyThenHoldsOrDecays()
    {
        var o = TinyRun.Options(_dir, 1) with { LearningRate = 1.0, WarmupSteps = 4 };
        Assert.Equal([0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 5).Select(s => o.LearningRateAt(s)));
        var decay = o with { DecaySteps = 8 };
        Assert.Equal([1.0, 0.75, 0.5, 0.25, 0.0, 0.0], Enumerable.Range(3, 6).Select(s => decay.LearningRateAt(s)));
    }

    [Fact]
    public void RecallAtK_CountsRanksOfTheDiagonal()
    {
        using var similarity = tensor(new float[]
        {
            0.9f, 0.1f, 0.2f,
            0.8f, 0.5f, 0.1f,
            0.3f, 0.2f, 0.1f,
        }, [3, 3]);
        var (r1, r5) = VideoClipTrainer.RecallAtK(similarity);
        Assert.Equal(1.0 / 3, r1, 1e-9);
        Assert.Equal(1.0, r5, 1e-9);
    }
}
