using System.Globalization;

namespace VideoData.Training.Trainer;

/// <summary>
/// Which slice of each epoch's plan a process takes: rank <see cref="Rank"/> of <see cref="WorldSize"/>. Every
/// rank computes the same full plan (it is deterministic in seed and epoch) and takes batches
/// <c>rank, rank + worldSize, …</c> of it (<see cref="Plans.BatchPlan.ForRank"/>), so all ranks have the same
/// number of batches and global step <c>s</c> covers plan batches <c>[s·worldSize, (s+1)·worldSize)</c>.
/// </summary>
/// <param name="Rank">This process's rank, <c>0 ≤ Rank &lt; WorldSize</c>.</param>
/// <param name="WorldSize">Number of processes sharing the plan, at least 1.</param>
internal sealed record TrainingRank(int Rank, int WorldSize)
{
    /// <summary>A single process: rank 0 of 1.</summary>
    public static TrainingRank Single { get; } = new(0, 1);

    /// <summary>
    /// The launcher variables read, in order of precedence: torchrun / <c>torch.distributed</c>
    /// (<c>RANK</c>, <c>WORLD_SIZE</c>), Slurm tasks (<c>SLURM_PROCID</c>, <c>SLURM_NTASKS</c>), Open MPI
    /// (<c>OMPI_COMM_WORLD_RANK</c>, <c>OMPI_COMM_WORLD_SIZE</c>), MPICH/Intel MPI (<c>PMI_RANK</c>, <c>PMI_SIZE</c>).
    /// </summary>
    public static IReadOnlyList<(string Rank, string WorldSize)> EnvironmentVariables { get; } =
    [
        ("RANK", "WORLD_SIZE"),
        ("SLURM_PROCID", "SLURM_NTASKS"),
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMI_RANK", "PMI_SIZE"),
    ];

    /// <summary>
    /// Resolves the rank: explicit values win (<c>--rank</c>, <c>--world-size</c>); a value not given comes from the
    /// first launcher pair of <see cref="EnvironmentVariables"/> whose both variables are set; with neither, rank 0 of 1.
    /// </summary>
    /// <param name="rank">An explicit rank, or null.</param>
    /// <param name="worldSize">An explicit world size, or null.</param>
    /// <param name="environment">Reads an environment variable (null when unset); <see cref="Environment.GetEnvironmentVariable(string)"/> by default.</param>
    /// <returns>The rank and where it came from (e.g. "--rank/--world-size", "SLURM_PROCID/SLURM_NTASKS", "default").</returns>
    /// <exception cref="ArgumentException">A value is not an integer, or the rank is outside <c>[0, worldSize)</c>; the message names its source.</exception>
    public static (TrainingRank Rank, string Source) Resolve(int? rank, int? worldSize, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        int? envRank = null, envWorld = null;
        string? envSource = null;
        foreach (var (rankName, worldName) in EnvironmentVariables)
        {
            var rankText = environment(rankName);
            var worldText = environment(worldName);
            if (string.IsNullOrWhiteSpace(rankText) || string.IsNullOrWhiteSpace(worldText))
            {
                continue;
            }

            envRank = Parse(rankName, rankText);
            envWorld = Parse(worldName, worldText);
            envSource = $"{rankName}/{worldName}";
            break;
        }

        var resolvedRank = rank ?? envRank ?? 0;
        var resolvedWorld = worldSize ?? envWorld ?? 1;
        var source = (rank is not null, worldSize is not null) switch
        {
            (true, true) => "--rank/--world-size",
            (false, false) => envSource ?? "default",
            _ when envSource is not null => $"--rank/--world-size and {envSource}",
            _ => "--rank/--world-size",
        };
        if (resolvedWorld < 1)
        {
            throw new ArgumentException($"World size {resolvedWorld} (from {source}) must be at least 1.", nameof(worldSize));
        }

        if (resolvedRank < 0 || resolvedRank >= resolvedWorld)
        {
            throw new ArgumentException($"Rank {resolvedRank} (from {source}) must be in [0, {resolvedWorld}) for world size {resolvedWorld}.", nameof(rank));
        }

        return (new TrainingRank(resolvedRank, resolvedWorld), source);
    }

    /// <summary>This rank's batches of <paramref name="plan"/>, the full plan every rank computes alike (<see cref="Plans.BatchPlan.ForRank"/>).</summary>
    /// <exception cref="ArgumentException">The plan has fewer batches than <see cref="WorldSize"/>.</exception>
    public Plans.BatchPlan Slice(Plans.BatchPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.ForRank(Rank, WorldSize);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"rank {Rank} of {WorldSize}");

    private static int Parse(string name, string text) =>
        int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"Environment variable {name} = '{text}' is not an integer.", name);
}
