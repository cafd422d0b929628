using TorchSharp;

namespace VideoData.Training.Trainer;

/// <summary>
/// Writes the trainer's progress as TensorBoard scalars (an <c>events.out.tfevents.*</c> file in the folder given, through
/// TorchSharp's <c>SummaryWriter</c>): per step <c>train/loss</c>, <c>train/learning_rate</c>, <c>train/step_ms</c>,
/// <c>train/data_wait_ms</c> at the global step; per epoch <c>epoch/mean_loss</c>, <c>epoch/data_wait_share</c> and, with
/// a held-out set, <c>eval/recall_at_1</c>, <c>eval/recall_at_5</c> at the epoch number. Open with
/// <c>tensorboard --logdir DIR</c>.
/// </summary>
internal sealed class TensorBoardObserver : ITrainingObserver
{
    private readonly TorchSharp.Modules.SummaryWriter _writer;

    /// <summary>Writes event files into <paramref name="directory"/> (created when missing).</summary>
    public TensorBoardObserver(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        _writer = torch.utils.tensorboard.SummaryWriter(directory);
        LogDir = _writer.LogDir;
    }

    /// <summary>The folder the event file is in.</summary>
    public string LogDir { get; }

    /// <inheritdoc />
    public void OnStep(StepReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var step = Step(report.GlobalStep);
        _writer.add_scalar("train/loss", report.Loss, step);
        _writer.add_scalar("train/learning_rate", (float)report.LearningRate, step);
        _writer.add_scalar("train/step_ms", (float)report.StepTime.TotalMilliseconds, step);
        _writer.add_scalar("train/data_wait_ms", (float)report.DataWait.TotalMilliseconds, step);
    }

    /// <inheritdoc />
    public void OnEpoch(EpochReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _writer.add_scalar("epoch/mean_loss", (float)report.MeanLoss, report.Epoch);
        _writer.add_scalar("epoch/data_wait_share", (float)report.DataWaitShare, report.Epoch);
        if (report.RecallAt1 is { } r1)
        {
            _writer.add_scalar("eval/recall_at_1", (float)r1, report.Epoch);
        }

        if (report.RecallAt5 is { } r5)
        {
            _writer.add_scalar("eval/recall_at_5", (float)r5, report.Epoch);
        }
    }

    /// <inheritdoc />
    public void OnCheckpoint(string path)
    {
    }

    // TensorBoard's step is an int64, TorchSharp's writer takes an int: a run past 2^31 steps is refused loudly, not wrapped.
    private static int Step(long globalStep) => globalStep <= int.MaxValue
        ? (int)globalStep
        : throw new NotSupportedException($"global step {globalStep} is beyond what TorchSharp's SummaryWriter records (2^31 - 1).");
}

/// <summary>Passes every report to each of several observers, in order.</summary>
internal sealed class FanOutObserver(params ITrainingObserver[] observers) : ITrainingObserver
{
    /// <inheritdoc />
    public void OnStep(StepReport report)
    {
        foreach (var o in observers)
        {
            o.OnStep(report);
        }
    }

    /// <inheritdoc />
    public void OnEpoch(EpochReport report)
    {
        foreach (var o in observers)
        {
            o.OnEpoch(report);
        }
    }

    /// <inheritdoc />
    public void OnCheckpoint(string path)
    {
        foreach (var o in observers)
        {
            o.OnCheckpoint(path);
        }
    }
}
