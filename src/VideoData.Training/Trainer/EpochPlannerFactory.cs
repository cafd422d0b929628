using VideoData.Training.Data;
using VideoData.Training.Plans;

namespace VideoData.Training.Trainer;

/// <summary>
/// Chooses the <see cref="IEpochPlanner"/> that <c>videodata train</c> uses for a config: a fresh seeded
/// shuffle per epoch, or — when <c>retrieval.enabled</c> — the retrieval-augmented (clustered) planner.
/// This is the one place the clustered planner plugs into the training command.
/// </summary>
public static class EpochPlannerFactory
{
    /// <summary>The planner for <paramref name="config"/> over the videos of <paramref name="train"/>.</summary>
    /// <exception cref="NotSupportedException">Retrieval is enabled but no clustered planner is wired in.</exception>
    public static IEpochPlanner Create(TrainConfig config, IVideoStore train)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(train);
        if (config.Retrieval.Enabled)
        {
            throw new NotSupportedException(
                "retrieval.enabled is true, but clustered plans between epochs are not wired into `videodata train` yet; "
                + "set retrieval.enabled to false for shuffled plans, or write clustered plans with `videodata cluster` "
                + "into the run's plans/ folder before the epoch starts (the trainer uses an existing plans/epoch-NNNN.parquet as is).");
        }

        return new ShuffledEpochPlanner(train.VideoIds, config.BatchVideos, config.Seed);
    }
}
