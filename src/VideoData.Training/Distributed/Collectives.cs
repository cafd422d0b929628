using System.Globalization;

namespace VideoData.Training.Distributed;

/// <summary>
/// Picks the collective for this process from how it was launched: under an MPI launcher (<c>mpirun -np N</c>,
/// <c>srun --mpi=pmix</c> or <c>--mpi=pmi2</c>) MPI itself, with rank and size from MPI; otherwise a single process.
/// A launch that asks for several processes without MPI (torchrun's <c>WORLD_SIZE</c>, <c>srun</c> without an MPI
/// plugin) is refused with a message that says how to launch instead.
/// </summary>
internal static class Collectives
{
    /// <summary>The default for <see cref="Open"/>'s timeout: how long one collective may wait for the other ranks (10 minutes).</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The environment variables that show an MPI launcher started this process: Open MPI's <c>mpirun</c>
    /// (<c>OMPI_COMM_WORLD_SIZE</c>), PMIx (<c>PMIX_RANK</c>: <c>srun --mpi=pmix</c>, <c>prterun</c>), PMI-1/2
    /// (<c>PMI_SIZE</c>: <c>srun --mpi=pmi2</c>, MPICH's Hydra).
    /// </summary>
    public static IReadOnlyList<string> LauncherVariables { get; } = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"];

    /// <summary>The variable that showed an MPI launch, or null when none is set.</summary>
    public static string? DetectMpiLaunch(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return LauncherVariables.FirstOrDefault(name => !string.IsNullOrWhiteSpace(environment(name)));
    }

    /// <summary>
    /// Opens the collective for this process (call once; dispose it at the end of the run, which finalizes MPI).
    /// </summary>
    /// <param name="timeout">How long one MPI collective may wait before the job is aborted; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="environment">Reads environment variables; the process's by default.</param>
    /// <exception cref="NotSupportedException">Several processes were asked for without MPI, or Open MPI cannot be loaded.</exception>
    public static ICollective Open(TimeSpan? timeout = null, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (DetectMpiLaunch(environment) is not null)
        {
            return MpiCollective.Initialize(timeout ?? DefaultTimeout);
        }

        foreach (var (rankName, worldName) in Trainer.TrainingRank.EnvironmentVariables)
        {
            if (int.TryParse(environment(worldName), NumberStyles.Integer, CultureInfo.InvariantCulture, out var world) && world > 1)
            {
                throw new NotSupportedException(
                    $"{worldName} = {world} asks for {world} processes, but none of {string.Join(", ", LauncherVariables)} is set, so this process was not "
                    + $"started by an MPI launcher ({rankName} alone does not connect the ranks). Start data-parallel training with "
                    + $"`mpirun -np {world} videodata train ...` or, under Slurm, `srun --mpi=pmix -n {world} videodata train ...`.");
            }
        }

        return SingleProcessCollective.Instance;
    }
}
