using VideoData.Training.Alignment;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Tests.Trainer;
using VideoData.Training.Trainer;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Alignment;

[Collection("TorchSharp training")]
public sealed class AligningEpochPlannerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-align-planner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static InMemoryVideoStore Videos(int count) => new(SyntheticCorpus.Generate(new SyntheticCorpusOptions
    {
        Videos = count,
        FeatureDim = TinyRun.FeatureDim,
        MinSeconds = 12,
        MaxSeconds = 30,
        Seed = 4,
        ShiftFraction = 0.3,
    }));

    private AligningEpochPlanner Planner(AlignedVideoStore store, int every, string output) => new(
        new ShuffledEpochPlanner(store.VideoIds, 4, 1),
        store,
        new ClipSamplerOptions { FeatureDim = TinyRun.FeatureDim },
        new TrainingAlignmentOptions { Every = every, Alignment = new AlignmentOptions { WindowSeconds = 3, Threshold = 0.1, Threads = 1 } },
        output);

    [Fact]
    public async Task PlanAsync_AlignsBeforeTheChosenEpochsAndResumeReadsTheTableBack()
    {
        var output = Path.Combine(_dir, "run");
        var store = new AlignedVideoStore(Videos(8));
        var planner = Planner(store, every: 2, output);
        random.manual_seed(3);
        using var model = new VideoClipModel(VideoClipModelOptions.Tiny with { FeatureDim = TinyRun.FeatureDim });

        await planner.PlanAsync(0, model);
        Assert.Null(store.Table);
        await planner.PlanAsync(1, model);
        Assert.Null(store.Table);
        Assert.False(Directory.Exists(Path.Combine(output, "alignment")));

        var plan = await planner.PlanAsync(2, model);
        Assert.Equal(2, plan.Epoch);
        var path = AligningEpochPlanner.TablePath(output, 2);
        Assert.True(File.Exists(path));
        Assert.Equal(2, store.Table!.Lineage.Epoch);
        Assert.Equal(store.Table.Segments, (await AlignmentTable.ReadAsync(path)).Segments);
        // The trainer samples from the aligned captions.
        var first = store.VideoIds[0];
        var expected = AlignedVideoStore.Apply(await store.Original.GetAsync(first), store.Table.ByVideo()[first]);
        Assert.Equal(expected.Segments.Select(s => (s.Start, s.End)), (await store.GetAsync(first)).Segments.Select(s => (s.Start, s.End)));

        await planner.PlanAsync(3, model);
        Assert.Equal(2, store.Table!.Lineage.Epoch);

        // A resumed run (new process: new store and planner) gets the same table from disk, without a model.
        var resumedStore = new AlignedVideoStore(store.Original);
        var resumed = Planner(resumedStore, every: 2, output);
        await resumed.ResumeEpochAsync(3);
        Assert.Equal(store.Table.Segments, resumedStore.Table!.Segments);
        await resumed.ResumeEpochAsync(1);
        Assert.Null(resumedStore.Table);

        File.Delete(path);
        var gone = await Assert.ThrowsAsync<InvalidDataException>(() => resumed.ResumeEpochAsync(2));
        Assert.Contains(path, gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trainer_WithAlignment_ResumedRunRepeatsTheUninterruptedOne()
    {
        var videos = Videos(24);
        var options = TinyRun.Options(Path.Combine(_dir, "straight"), epochs: 3, batchVideos: 4) with { EvalVideos = 0, Threads = 1 };

        var straight = new TinyRun();
        var straightStore = new AlignedVideoStore(videos);
        using (var trainer = VideoClipTrainer.Create(options, straightStore, null, Planner(straightStore, every: 1, options.OutputDirectory), straight))
        {
            await trainer.RunAsync();
        }

        var resumedOptions = options with { OutputDirectory = Path.Combine(_dir, "resumed") };
        var first = new TinyRun();
        var firstStore = new AlignedVideoStore(videos);
        using (var trainer = VideoClipTrainer.Create(resumedOptions, firstStore, null, Planner(firstStore, every: 1, resumedOptions.OutputDirectory), first))
        {
            // Stops in epoch 1, after its alignment; epoch 2's alignment happens after the resume.
            await trainer.RunAsync(stopAtGlobalStep: 8);
        }

        var second = new TinyRun();
        var secondStore = new AlignedVideoStore(videos);
        using (var trainer = VideoClipTrainer.Create(resumedOptions, secondStore, null, Planner(secondStore, every: 1, resumedOptions.OutputDirectory), second, resumeFrom: resumedOptions.OutputDirectory))
        {
            await trainer.RunAsync();
        }

        Assert.Equal(18, straight.Steps.Count); // 3 epochs × 6 batches of 4 videos
        Assert.Equal(straight.Steps.Select(s => s.Loss), first.Steps.Concat(second.Steps).Select(s => s.Loss));
        foreach (var epoch in new[] { 1, 2 })
        {
            var a = await AlignmentTable.ReadAsync(AligningEpochPlanner.TablePath(options.OutputDirectory, epoch));
            var b = await AlignmentTable.ReadAsync(AligningEpochPlanner.TablePath(resumedOptions.OutputDirectory, epoch));
            Assert.Equal(a.Segments, b.Segments);
        }
    }

    [Fact]
    public void TrainConfig_AlignmentAndTokenDropout_ParseAndAreCheckedByName()
    {
        var path = Path.Combine(_dir, "c.json");
        File.WriteAllText(path, """
            {
              "model": { "preset": "tiny" },
              "streamer": { "token_dropout": 0.5 },
              "alignment": { "enabled": true, "every": 2, "window_seconds": 5, "threshold": 0.4 }
            }
            """);
        var config = TrainConfig.Load(path);
        Assert.Equal(0.5, config.ToTrainerOptions().Streamer.TokenDropout);
        var alignment = config.Alignment.ToOptions();
        Assert.Equal((2, 5, 0.4), (alignment.Every, alignment.Alignment.WindowSeconds, alignment.Alignment.Threshold));

        var (planner, train) = EpochPlannerFactory.CreateForTraining(config with { Output = Path.Combine(_dir, "o") }, Videos(2));
        Assert.IsType<AligningEpochPlanner>(planner);
        Assert.IsType<AlignedVideoStore>(train);
        var plain = Videos(2);
        var (shuffled, same) = EpochPlannerFactory.CreateForTraining(new TrainConfig(), plain);
        Assert.IsType<ShuffledEpochPlanner>(shuffled);
        Assert.Same(plain, same);

        foreach (var (text, name) in new[]
        {
            ("""{ "alignment": { "enabled": true, "every": 0 } }""", "alignment.every"),
            ("""{ "alignment": { "window_seconds": 0 } }""", "window_seconds"),
            ("""{ "alignment": { "treshold": 0.2 } }""", "treshold"),
            ("""{ "streamer": { "token_dropout": 1.0 } }""", "token_dropout"),
        })
        {
            File.WriteAllText(path, text);
            var ex = Assert.Throws<InvalidDataException>(() => TrainConfig.Load(path));
            Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        }
    }
}
