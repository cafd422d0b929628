namespace VideoData.Training.Trainer;

/// <summary>What one optimizer step did.</summary>
/// <param name="Epoch">Epoch of the step.</param>
/// <param name="Step">Step within the epoch (0-based).</param>
/// <param name="GlobalStep">Step counted over the whole run (0-based).</param>
/// <param name="Loss">Symmetric InfoNCE loss of the batch.</param>
/// <param name="LearningRate">Learning rate used for the update.</param>
/// <param name="StepTime">Wall time of the whole step, data wait included.</param>
/// <param name="DataWait">Time the trainer was blocked waiting for the batch.</param>
/// <param name="Clips">Clips in the batch.</param>
internal sealed record StepReport(int Epoch, int Step, long GlobalStep, float Loss, double LearningRate, TimeSpan StepTime, TimeSpan DataWait, int Clips)
{
    /// <summary>Time the step spent inside the collectives that average gradients and loss over the ranks (zero for one rank).</summary>
    public TimeSpan AllReduceTime { get; init; }

    /// <summary>libtorch's intra-op thread count on the thread that computed the step (its compute host's count; a run repeats bit for bit only on the same count).</summary>
    public int IntraOpThreads { get; init; }
}

/// <summary>What one epoch did.</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Steps">Steps run in this epoch by this process (fewer than the plan's after a mid-epoch resume).</param>
/// <param name="MeanLoss">Mean step loss over those steps.</param>
/// <param name="DataWaitShare">Data wait as a share of step time over those steps (0–1).</param>
/// <param name="RecallAt1">Held-out text→video R@1, or null when evaluation is off.</param>
/// <param name="RecallAt5">Held-out text→video R@5, or null when evaluation is off.</param>
/// <param name="EvalClips">Clips in the held-out evaluation (chance R@1 is 1 / EvalClips).</param>
internal sealed record EpochReport(int Epoch, int Steps, double MeanLoss, double DataWaitShare, double? RecallAt1, double? RecallAt5, int EvalClips);

/// <summary>Receives the trainer's progress. Called on the training loop; keep it quick.</summary>
internal interface ITrainingObserver
{
    /// <summary>After every optimizer step.</summary>
    void OnStep(StepReport report);

    /// <summary>After every epoch (and its evaluation).</summary>
    void OnEpoch(EpochReport report);

    /// <summary>After a checkpoint is published.</summary>
    void OnCheckpoint(string path);
}
