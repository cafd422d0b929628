using VideoData.Training.Data;
using VideoData.Training.Plans;

namespace VideoData.Training.Trainer;

/// <summary>
/// Chooses the <see cref="IEpochPlanner"/> that <c>videodata train</c> uses for a config: a fresh seeded
/// shuffle per epoch, or — when <c>retrieval.enabled</c> — the retrieval-augmented (clustered) planner.
/// This is the one place the clustered planner plugs into the training command.
/// </summary>
internal static class EpochPlannerFactory
{
    /// <summary>The planner for <paramref name="config"/> over the videos of <paramref name="train"/>.</summary>
    /// <exception cref="ArgumentException">A <c>retrieval</c> setting is unknown or out of range (the message names it).</exception>
    /// <param name="config">The training config.</param>
    /// <param name="train">The training videos.</param>
    /// <param name="collective">The ranks of a data-parallel run (the clustered planner splits its work across them), or null for one process.</param>
    public static IEpochPlanner Create(TrainConfig config, IVideoStore train, Distributed.ICollective? collective = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(train);
        if (config.Retrieval.Enabled)
        {
            return new Retrieval.ClusteredEpochPlanner(
                train,
                config.ToTrainerOptions().Streamer,
                config.BatchVideos,
                config.Seed,
                Retrieval.ClusteredEpochPlannerOptions.FromSettings(config.Retrieval.Settings, Path.Combine(config.Output, "embeddings")),
                collective);
        }

        return new ShuffledEpochPlanner(train.VideoIds, config.BatchVideos, config.Seed);
    }

    /// <summary>
    /// The planner for <paramref name="config"/> and the store to train on: <paramref name="train"/> itself, or — when
    /// <c>alignment.enabled</c> — an <see cref="Alignment.AlignedVideoStore"/> over it whose captions the returned planner
    /// re-aligns between epochs (the inner planner, shuffled or clustered, plans over the aligned captions).
    /// </summary>
    /// <param name="config">The training config.</param>
    /// <param name="train">The training videos with their original captions.</param>
    /// <param name="collective">The ranks of a data-parallel run, or null for one process (rank 0 writes the alignment tables).</param>
    public static (IEpochPlanner Planner, IVideoStore Train) CreateForTraining(TrainConfig config, IVideoStore train, Distributed.ICollective? collective = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(train);
        if (!config.Alignment.Enabled)
        {
            return (Create(config, train, collective), train);
        }

        var aligned = new Alignment.AlignedVideoStore(train);
        var options = config.Alignment.ToOptions();
        options = options with { Alignment = options.Alignment with { Threads = config.Threads } };
        var planner = new Alignment.AligningEpochPlanner(
            Create(config, aligned, collective),
            aligned,
            config.ToTrainerOptions().Streamer.Sampler,
            options,
            config.Output,
            writes: (collective?.Rank ?? 0) == 0);
        return (planner, aligned);
    }
}
