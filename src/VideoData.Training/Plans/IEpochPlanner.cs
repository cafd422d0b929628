namespace VideoData.Training.Plans;

/// <summary>
/// Makes the batch plan of the next epoch between epochs. The trainer calls it after finishing epoch
/// <c>epoch − 1</c> (and before epoch 0) with the current model, so a clustered planner can embed the
/// videos with it; a shuffled planner ignores the model. This is the seam retrieval-augmented batching
/// plugs into.
/// </summary>
internal interface IEpochPlanner
{
    /// <summary>
    /// The full (all ranks) plan for <paramref name="epoch"/>. Must be deterministic in (seed, epoch, the
    /// model's weights) so every rank computes the same plan, or written once and read by all.
    /// </summary>
    /// <param name="epoch">The epoch about to start (0-based).</param>
    /// <param name="model">The model as trained so far; in inference mode while the planner runs.</param>
    /// <param name="cancellationToken">Stops the planning.</param>
    Task<BatchPlan> PlanAsync(int epoch, Model.VideoClipModel model, CancellationToken cancellationToken = default);

    /// <summary>
    /// Called instead of <see cref="PlanAsync"/> when the trainer reads <paramref name="epoch"/>'s plan back from disk (a
    /// resumed run), so a planner that also prepares what the epoch samples from (the alignment planner's caption
    /// table) can restore it. Nothing by default.
    /// </summary>
    Task ResumeEpochAsync(int epoch, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>The default planner: a fresh seeded shuffle of all training videos each epoch.</summary>
internal sealed class ShuffledEpochPlanner : IEpochPlanner
{
    private readonly IReadOnlyList<string> _videoIds;
    private readonly int _batchVideos;
    private readonly long _seed;

    /// <summary>Plans over <paramref name="videoIds"/> in batches of <paramref name="batchVideos"/> with run seed <paramref name="seed"/>.</summary>
    public ShuffledEpochPlanner(IReadOnlyList<string> videoIds, int batchVideos, long seed)
    {
        ArgumentNullException.ThrowIfNull(videoIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchVideos, 1);
        _videoIds = videoIds;
        _batchVideos = batchVideos;
        _seed = seed;
    }

    /// <inheritdoc />
    public Task<BatchPlan> PlanAsync(int epoch, Model.VideoClipModel model, CancellationToken cancellationToken = default) =>
        Task.FromResult(BatchPlan.Shuffled(_videoIds, _batchVideos, _seed, epoch));
}
