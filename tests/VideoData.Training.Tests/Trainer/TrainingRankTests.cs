using VideoData.Training.Trainer;

namespace VideoData.Training.Tests.Trainer;

public sealed class TrainingRankTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    [Fact]
    public void Resolve_NothingSet_IsRankZeroOfOne()
    {
        var (rank, source) = TrainingRank.Resolve(null, null, Env());
        Assert.Equal(TrainingRank.Single, rank);
        Assert.Equal("default", source);
    }

    [Fact]
    public void Resolve_LauncherVariables_TorchrunBeforeSlurmBeforeMpi()
    {
        Assert.Equal(new TrainingRank(2, 4), TrainingRank.Resolve(null, null, Env(("RANK", "2"), ("WORLD_SIZE", "4"), ("SLURM_PROCID", "0"), ("SLURM_NTASKS", "1"))).Rank);
        var (slurm, source) = TrainingRank.Resolve(null, null, Env(("SLURM_PROCID", "3"), ("SLURM_NTASKS", "8"), ("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2")));
        Assert.Equal(new TrainingRank(3, 8), slurm);
        Assert.Equal("SLURM_PROCID/SLURM_NTASKS", source);
        Assert.Equal(new TrainingRank(1, 2), TrainingRank.Resolve(null, null, Env(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2"))).Rank);
        Assert.Equal(new TrainingRank(5, 6), TrainingRank.Resolve(null, null, Env(("PMI_RANK", "5"), ("PMI_SIZE", "6"))).Rank);
        // A pair counts only when both halves are set.
        Assert.Equal(new TrainingRank(1, 3), TrainingRank.Resolve(null, null, Env(("RANK", "7"), ("SLURM_PROCID", "1"), ("SLURM_NTASKS", "3"))).Rank);
    }

    [Fact]
    public void Resolve_ExplicitValues_OverrideTheEnvironment()
    {
        var env = Env(("RANK", "2"), ("WORLD_SIZE", "4"));
        Assert.Equal((new TrainingRank(0, 2), "--rank/--world-size"), TrainingRank.Resolve(0, 2, env));
        Assert.Equal(new TrainingRank(3, 4), TrainingRank.Resolve(3, null, env).Rank);
    }

    [Fact]
    public void Resolve_BadValues_ThrowNamingTheSource()
    {
        var outside = Assert.Throws<ArgumentException>(() => TrainingRank.Resolve(null, null, Env(("SLURM_PROCID", "4"), ("SLURM_NTASKS", "4"))));
        Assert.Contains("SLURM_PROCID/SLURM_NTASKS", outside.Message, StringComparison.Ordinal);
        var text = Assert.Throws<ArgumentException>(() => TrainingRank.Resolve(null, null, Env(("RANK", "one"), ("WORLD_SIZE", "2"))));
        Assert.Contains("RANK = 'one'", text.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TrainingRank.Resolve(0, 0, Env()));
        Assert.Throws<ArgumentException>(() => TrainingRank.Resolve(-1, 2, Env()));
    }
}
