using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;

namespace VideoData.Training.Tests.Trainer;

/// <summary>A tiny synthetic training setup that runs in seconds on two CPU cores.</summary>
internal sealed class TinyRun : ITrainingObserver
{
    public const int FeatureDim = 64;

    public List<StepReport> Steps { get; } = [];

    /// <summary>libtorch's intra-op thread count on the thread that reported each step (the thread that computed it).</summary>
    public List<int> StepThreads { get; } = [];

    public List<EpochReport> Epochs { get; } = [];

    public List<string> Checkpoints { get; } = [];

    public static IReadOnlyList<VideoRecord> Corpus(int videos, string prefix) =>
        SyntheticCorpus.Generate(new SyntheticCorpusOptions
        {
            Videos = videos,
            FeatureDim = FeatureDim,
            MinSeconds = 20,
            MaxSeconds = 60,
            IdPrefix = prefix,
            VocabularySize = 100,
            WordsPerVideo = 6,
            Seed = 3,
        });

    public static TrainerOptions Options(string output, int epochs, int batchVideos = 8) => new()
    {
        Model = VideoClipModelOptions.Tiny with { FeatureDim = FeatureDim },
        Streamer = new BatchStreamerOptions { Sampler = new ClipSamplerOptions { FeatureDim = FeatureDim, ClipsPerVideo = 4 } },
        BatchVideos = batchVideos,
        Seed = 17,
        Epochs = epochs,
        LearningRate = 3e-3,
        WarmupSteps = 10,
        CheckpointEverySteps = 0,
        OutputDirectory = output,
        EvalVideos = 64,
    };

    public VideoClipTrainer Create(TrainerOptions options, IVideoStore train, IVideoStore? heldOut, string? resumeFrom = null, ICollective? collective = null) =>
        VideoClipTrainer.Create(options, train, heldOut, new ShuffledEpochPlanner(train.VideoIds, options.BatchVideos, options.Seed), this, resumeFrom, collective);

    /// <summary>Called after each step is reported, on the training thread (tests use it to interfere with a rank).</summary>
    public Action<StepReport>? AfterStep { get; set; }

    public void OnStep(StepReport report)
    {
        Steps.Add(report);
        StepThreads.Add(report.IntraOpThreads);
        AfterStep?.Invoke(report);
    }

    public void OnEpoch(EpochReport report) => Epochs.Add(report);

    public void OnCheckpoint(string path) => Checkpoints.Add(path);
}
