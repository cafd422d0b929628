using VideoData.Training.Model;
using VideoData.Training.Streaming;
using static TorchSharp.torch;

namespace VideoData.Training.Trainer;

/// <summary>
/// Everything the built-in trainer needs besides its data. Defaults are the reference's (DESIGN §3):
/// 32 videos × 16 clips per batch, Adam(0.9, 0.98), lr 5e-5, 1000 warm-up steps, clip-norm 2.0.
/// Validated once when the trainer is created.
/// </summary>
internal sealed record TrainerOptions
{
    /// <summary>Model sizes.</summary>
    public VideoClipModelOptions Model { get; init; } = VideoClipModelOptions.Reference;

    /// <summary>Clip sampling and prefetching.</summary>
    public BatchStreamerOptions Streamer { get; init; } = new();

    /// <summary>Videos per batch (32); each contributes <c>ClipsPerVideo</c> clips.</summary>
    public int BatchVideos { get; init; } = 32;

    /// <summary>Run seed: model initialisation, dropout, plans and clip sampling all derive from it.</summary>
    public long Seed { get; init; }

    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Peak learning rate (5e-5).</summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary>Adam β1 (0.9).</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam β2 (0.98).</summary>
    public double Beta2 { get; init; } = 0.98;

    /// <summary>Adam ε (1e-8).</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>L2 weight decay (0).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Steps of linear warm-up from 0 to <see cref="LearningRate"/> (1000).</summary>
    public int WarmupSteps { get; init; } = 1000;

    /// <summary>
    /// When positive, the learning rate decays linearly after warm-up to 0 at this global step (fairseq's
    /// polynomial decay with power 1); 0 keeps it constant after warm-up.
    /// </summary>
    public int DecaySteps { get; init; }

    /// <summary>Gradient clipping by global L2 norm (2.0); 0 disables it.</summary>
    public double ClipNorm { get; init; } = 2.0;

    /// <summary>Save a checkpoint every this many global steps (and at every epoch end); 0 saves only at epoch ends.</summary>
    public int CheckpointEverySteps { get; init; } = 1000;

    /// <summary>Checkpoints kept on disk (the newest ones); 0 keeps all.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>Where the trainer writes plans, checkpoints and its log.</summary>
    public string OutputDirectory { get; init; } = "out/train";

    /// <summary>Where the model and batches live. <c>null</c> means the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// libtorch intra-op threads for the trainer's computation; 0 means one per available core. The trainer sets it on
    /// whichever thread computes a step, so results do not depend on the thread an await resumes on (a resumed run
    /// repeats an uninterrupted one bit for bit only on the same count: see <see cref="VideoData.Features.Runtime.IntraOpThreads"/>).
    /// </summary>
    public int Threads { get; init; }

    /// <summary>Held-out videos used for the per-epoch text→video R@1/R@5 (one aligned clip each); 0 disables evaluation.</summary>
    public int EvalVideos { get; init; } = 1000;

    /// <summary>
    /// This process's place in a data-parallel run (rank 0 of 1: a single process). The trainer sets it from its
    /// <see cref="Distributed.ICollective"/> (rank and size come from the launcher, through MPI); with more ranks,
    /// each trains on its slice of every epoch's plan and gradients are averaged across ranks before each optimizer
    /// step; only rank 0 writes plans and checkpoints (into a folder every rank can read).
    /// </summary>
    public TrainingRank Rank { get; init; } = TrainingRank.Single;

    /// <summary>
    /// Bytes of gradients per all-reduce bucket (32 MiB, <see cref="Distributed.GradientBuckets.DefaultBucketBytes"/>):
    /// the gradients are reduced across ranks one bucket at a time through one staging buffer of this size.
    /// </summary>
    public long BucketBytes { get; init; } = Distributed.GradientBuckets.DefaultBucketBytes;

    /// <summary>
    /// With several ranks, compare a SHA-256 of every rank's weights every this many global steps (100), and always
    /// at epoch ends; differing ranks stop the run with <see cref="Distributed.RankDivergenceException"/>. 0 checks at
    /// epoch ends only.
    /// </summary>
    public int DigestEverySteps { get; init; } = 100;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public TrainerOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Rank);
        Check(Rank.WorldSize >= 1 && Rank.Rank >= 0 && Rank.Rank < Rank.WorldSize, nameof(Rank), Rank, "must be a rank in [0, world size)");
        Check(BucketBytes >= sizeof(float), nameof(BucketBytes), BucketBytes, "must hold at least one float (4 bytes)");
        Check(DigestEverySteps >= 0, nameof(DigestEverySteps), DigestEverySteps, "must not be negative (0: at epoch ends only)");
        ArgumentNullException.ThrowIfNull(Model);
        ArgumentNullException.ThrowIfNull(Streamer);
        Model.Validate();
        Streamer.Validate();
        Check(BatchVideos >= 1, nameof(BatchVideos), BatchVideos, "must be at least 1");
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a positive number");
        Check(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Check(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Check(Epsilon > 0, nameof(Epsilon), Epsilon, "must be positive");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must not be negative");
        Check(WarmupSteps >= 0, nameof(WarmupSteps), WarmupSteps, "must not be negative");
        Check(DecaySteps == 0 || DecaySteps > WarmupSteps, nameof(DecaySteps), DecaySteps, $"must be 0 or more than WarmupSteps ({WarmupSteps})");
        Check(ClipNorm >= 0, nameof(ClipNorm), ClipNorm, "must not be negative");
        Check(CheckpointEverySteps >= 0, nameof(CheckpointEverySteps), CheckpointEverySteps, "must not be negative");
        Check(KeepCheckpoints >= 0, nameof(KeepCheckpoints), KeepCheckpoints, "must not be negative");
        Check(!string.IsNullOrWhiteSpace(OutputDirectory), nameof(OutputDirectory), OutputDirectory, "must name a folder");
        Check(EvalVideos >= 0, nameof(EvalVideos), EvalVideos, "must not be negative");
        Check(Threads >= 0, nameof(Threads), Threads, "must not be negative (0: one per core)");
        Check(Streamer.Sampler.FeatureDim == Model.FeatureDim, nameof(Model.FeatureDim), Model.FeatureDim, $"must equal the sampler's FeatureDim ({Streamer.Sampler.FeatureDim})");
        Check(Streamer.Sampler.CaptionLength <= Model.MaxCaptionLength, nameof(Model.MaxCaptionLength), Model.MaxCaptionLength, $"must be at least the sampler's CaptionLength ({Streamer.Sampler.CaptionLength})");
        Check(Streamer.Sampler.MaxVideoTokens <= Model.MaxVideoTokens, nameof(Model.MaxVideoTokens), Model.MaxVideoTokens, $"must be at least the sampler's MaxVideoTokens ({Streamer.Sampler.MaxVideoTokens})");
        return this;
    }

    /// <summary>The learning rate at global step <paramref name="step"/> (0-based): linear warm-up, then constant or linear decay.</summary>
    public double LearningRateAt(long step)
    {
        var update = step + 1;
        if (WarmupSteps > 0 && update <= WarmupSteps)
        {
            return LearningRate * update / WarmupSteps;
        }

        if (DecaySteps > 0)
        {
            var remaining = Math.Max(0, DecaySteps - update);
            return LearningRate * remaining / (DecaySteps - WarmupSteps);
        }

        return LearningRate;
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"Trainer option {name} = {value} {rule}.", name);
        }
    }
}
