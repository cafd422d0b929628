namespace VideoData.Training.Distributed;

/// <summary>
/// The collective operations a data-parallel run needs, over the <see cref="WorldSize"/> processes ("ranks") of one
/// job. Every rank must make the same calls in the same order with matching sizes (as in MPI); a call returns on a
/// rank once that rank's part is done. Implementations: <see cref="SingleProcessCollective"/> (one rank, no
/// communication) and the MPI one (<see cref="Collectives.Open"/> under <c>mpirun</c> or <c>srun --mpi=pmix</c>). A
/// NCCL implementation for GPU machines would implement this interface too (with device buffers staged by the
/// caller, see <see cref="GradientBuckets"/>); none ships, because none has run. Not thread-safe: one call at a
/// time per process.
/// </summary>
internal interface ICollective : IDisposable
{
    /// <summary>This process's rank, in <c>[0, WorldSize)</c>, as the launcher assigned it.</summary>
    int Rank { get; }

    /// <summary>The number of ranks, at least 1.</summary>
    int WorldSize { get; }

    /// <summary>What carries the collectives, for logs (e.g. "single process", "MPI: Open MPI v4.1.4 …").</summary>
    string Description { get; }

    /// <summary>Replaces <paramref name="values"/> on every rank with the element-wise sum over all ranks' values.</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>Copies <paramref name="buffer"/> of rank <paramref name="root"/> into <paramref name="buffer"/> of every other rank (same length on all).</summary>
    void Broadcast(Span<byte> buffer, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Every rank's payload (any length, also 0), indexed by rank, on every rank.</summary>
    IReadOnlyList<byte[]> AllGather(ReadOnlySpan<byte> payload);

    /// <summary>Every rank's payload, indexed by rank, on rank <paramref name="root"/>; null on the others.</summary>
    IReadOnlyList<byte[]>? Gather(ReadOnlySpan<byte> payload, int root);

    /// <summary>Ends every rank of the job now with <paramref name="exitCode"/> (after this process wrote why). Does not return.</summary>
    void Abort(int exitCode);
}

/// <summary>One rank: every collective is the identity. What a run without a launcher uses.</summary>
internal sealed class SingleProcessCollective : ICollective
{
    /// <summary>The shared instance (it holds no resources).</summary>
    public static SingleProcessCollective Instance { get; } = new();

    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int WorldSize => 1;

    /// <inheritdoc />
    public string Description => "single process";

    /// <inheritdoc />
    public void AllReduceSum(Span<float> values)
    {
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> buffer, int root) => ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);

    /// <inheritdoc />
    public void Barrier()
    {
    }

    /// <inheritdoc />
    public IReadOnlyList<byte[]> AllGather(ReadOnlySpan<byte> payload) => [payload.ToArray()];

    /// <inheritdoc />
    public IReadOnlyList<byte[]>? Gather(ReadOnlySpan<byte> payload, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);
        return [payload.ToArray()];
    }

    /// <inheritdoc />
    public void Abort(int exitCode) => Environment.Exit(exitCode);

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
