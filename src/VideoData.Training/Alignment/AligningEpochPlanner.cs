using System.Globalization;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;

namespace VideoData.Training.Alignment;

/// <summary>When <c>videodata train</c> re-aligns the captions: the config's <c>"alignment": {...}</c>.</summary>
internal sealed record TrainingAlignmentOptions
{
    /// <summary>Re-align before every epoch <c>e ≥ 1</c> with <c>e % Every == 0</c> (1). Epoch 0 trains on the original captions: there is no model yet.</summary>
    public int Every { get; init; } = 1;

    /// <summary>Window and threshold of each alignment.</summary>
    public AlignmentOptions Alignment { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public TrainingAlignmentOptions Validate()
    {
        if (Every < 1)
        {
            throw new ArgumentException($"alignment.every = {Every} must be at least 1.", nameof(Every));
        }

        ArgumentNullException.ThrowIfNull(Alignment);
        Alignment.Validate();
        return this;
    }

    /// <summary>Whether the captions are re-aligned before <paramref name="epoch"/>.</summary>
    public bool AlignsBefore(int epoch) => epoch >= 1 && epoch % Every == 0;
}

/// <summary>
/// Re-aligns the training captions between epochs, like the clustered planner re-embeds: before an epoch that
/// <see cref="TrainingAlignmentOptions.AlignsBefore"/>, it aligns the original captions with the current model, writes
/// the table to <c>OUTPUT/alignment/epoch-NNNN.parquet</c> (rank 0, atomically, before the epoch's plan) and makes the
/// <see cref="AlignedVideoStore"/> the trainer samples from apply it; other epochs keep the latest table. Then the
/// inner planner makes the plan (over the aligned store). On resume, the table of the resumed epoch is read back from
/// disk, never recomputed, so the resumed run samples exactly what the interrupted one did.
/// </summary>
internal sealed class AligningEpochPlanner : IEpochPlanner
{
    private readonly IEpochPlanner _inner;
    private readonly AlignedVideoStore _store;
    private readonly ClipSamplerOptions _sampler;
    private readonly TrainingAlignmentOptions _options;
    private readonly string _outputDirectory;
    private readonly bool _writes;

    /// <summary>Creates the planner.</summary>
    /// <param name="inner">Makes the plans (over <paramref name="store"/>).</param>
    /// <param name="store">The store the trainer samples from; its <see cref="AlignedVideoStore.Original"/> captions are what gets aligned.</param>
    /// <param name="sampler">The clip layout the model is trained with.</param>
    /// <param name="options">When and how to align; validated here.</param>
    /// <param name="outputDirectory">The run's output folder.</param>
    /// <param name="writes">Whether this process writes the tables (rank 0 of a run of several).</param>
    public AligningEpochPlanner(IEpochPlanner inner, AlignedVideoStore store, ClipSamplerOptions sampler, TrainingAlignmentOptions options, string outputDirectory, bool writes = true)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        _inner = inner;
        _store = store;
        _sampler = sampler;
        _options = options.Validate();
        _outputDirectory = outputDirectory;
        _writes = writes;
    }

    /// <summary>Where a run keeps the alignment table made before <paramref name="epoch"/>.</summary>
    public static string TablePath(string outputDirectory, int epoch) =>
        Path.Combine(outputDirectory, "alignment", string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:D4}.parquet"));

    /// <inheritdoc />
    public async Task<BatchPlan> PlanAsync(int epoch, VideoClipModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_options.AlignsBefore(epoch))
        {
            var path = TablePath(_outputDirectory, epoch);
            AlignmentTable table;
            if (File.Exists(path))
            {
                // Written before a crash that came before the plan: the same weights made it, so it is the table.
                table = await AlignmentTable.ReadAsync(path, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                table = await CaptionAligner.AlignAsync(_store.Original, model, _sampler, _options.Alignment, LatestCheckpoint(), epoch, cancellationToken).ConfigureAwait(false);
                if (_writes)
                {
                    await AlignmentTable.WriteAsync(table, path, cancellationToken).ConfigureAwait(false);
                }
            }

            _store.Use(table);
        }
        else
        {
            await UseLatestAsync(epoch, cancellationToken).ConfigureAwait(false);
        }

        return await _inner.PlanAsync(epoch, model, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task ResumeEpochAsync(int epoch, CancellationToken cancellationToken = default) => UseLatestAsync(epoch, cancellationToken);

    /// <summary>Applies the table of the latest aligning epoch at or before <paramref name="epoch"/> (none before the first).</summary>
    private async Task UseLatestAsync(int epoch, CancellationToken cancellationToken)
    {
        for (var e = epoch; e >= 1; e--)
        {
            if (!_options.AlignsBefore(e))
            {
                continue;
            }

            if (_store.Table?.Lineage.Epoch == e)
            {
                return;
            }

            var path = TablePath(_outputDirectory, e);
            if (!File.Exists(path))
            {
                throw new InvalidDataException(
                    $"Epoch {epoch} trains on the captions aligned before epoch {e}, but '{path}' does not exist: the run's alignment tables were removed or it was started without alignment.");
            }

            _store.Use(await AlignmentTable.ReadAsync(path, cancellationToken).ConfigureAwait(false));
            return;
        }

        _store.Use(null);
    }

    private string LatestCheckpoint()
    {
        var latest = Path.Combine(_outputDirectory, "checkpoints", "latest");
        var newest = File.Exists(latest) ? File.ReadLines(latest).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) : null;
        return newest is null ? $"{_outputDirectory} (no checkpoint)" : Path.Combine(_outputDirectory, "checkpoints", newest);
    }
}
