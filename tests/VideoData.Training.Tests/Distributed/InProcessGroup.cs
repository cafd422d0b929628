using VideoData.Training.Distributed;

namespace VideoData.Training.Tests.Distributed;

/// <summary>
/// A real <see cref="ICollective"/> for several ranks that are threads of one process: every operation deposits this
/// rank's data, meets the others at a barrier, reads what it needs, and meets them again before the slots are reused.
/// Sums run in rank order, so every rank gets the same bytes, as from MPI. Lets trainer tests run several ranks in
/// one test process; the MPI implementation itself is tested with mpirun (tests/VideoData.Cli.Tests).
/// </summary>
internal sealed class InProcessGroup
{
    private readonly Barrier _barrier;
    private readonly object?[] _slots;
    private readonly TimeSpan _timeout;
    private readonly TaskCompletionSource[] _entered;

    public InProcessGroup(int worldSize, TimeSpan? timeout = null)
    {
        WorldSize = worldSize;
        _barrier = new Barrier(worldSize);
        _slots = new object?[worldSize];
        _timeout = timeout ?? TimeSpan.FromMinutes(2);
        _entered = Enumerable.Range(0, worldSize).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        Ranks = Enumerable.Range(0, worldSize).Select(r => new Member(this, r)).ToArray();
    }

    public int WorldSize { get; }

    public IReadOnlyList<ICollective> Ranks { get; }

    /// <summary>Completes when <paramref name="rank"/> first enters a collective (e.g. a trainer's creation is past its model's initialisation).</summary>
    public Task Entered(int rank) => _entered[rank].Task;

    private void Meet(int rank, string operation)
    {
        _entered[rank].TrySetResult();
        if (!_barrier.SignalAndWait(_timeout))
        {
            throw new TimeoutException($"rank {rank}: {operation} waited {_timeout} for the other ranks.");
        }
    }

    private sealed class Member(InProcessGroup group, int rank) : ICollective
    {
        public int Rank => rank;

        public int WorldSize => group.WorldSize;

        public string Description => $"in-process group, rank {rank} of {group.WorldSize}";

        public void AllReduceSum(Span<float> values)
        {
            group._slots[rank] = values.ToArray();
            group.Meet(rank, "all-reduce");
            var sum = new float[values.Length];
            for (var r = 0; r < group.WorldSize; r++)
            {
                var other = (float[])group._slots[r]!;
                if (other.Length != values.Length)
                {
                    throw new InvalidOperationException($"rank {r} reduced {other.Length} values, rank {rank} {values.Length}.");
                }

                for (var i = 0; i < sum.Length; i++)
                {
                    sum[i] += other[i];
                }
            }

            group.Meet(rank, "all-reduce");
            sum.CopyTo(values);
        }

        public void Broadcast(Span<byte> buffer, int root)
        {
            if (rank == root)
            {
                group._slots[root] = buffer.ToArray();
            }

            group.Meet(rank, "broadcast");
            ((byte[])group._slots[root]!).CopyTo(buffer);
            group.Meet(rank, "broadcast");
        }

        public void Barrier() => group.Meet(rank, "barrier");

        public IReadOnlyList<byte[]> AllGather(ReadOnlySpan<byte> payload)
        {
            group._slots[rank] = payload.ToArray();
            group.Meet(rank, "all-gather");
            var all = group._slots.Select(s => ((byte[])s!).ToArray()).ToArray();
            group.Meet(rank, "all-gather");
            return all;
        }

        public IReadOnlyList<byte[]>? Gather(ReadOnlySpan<byte> payload, int root)
        {
            var all = AllGather(payload);
            return rank == root ? all : null;
        }

        public void Abort(int exitCode) => throw new InvalidOperationException($"rank {rank} aborted the group with exit code {exitCode}.");

        public void Dispose()
        {
        }
    }
}
