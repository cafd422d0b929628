using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace VideoData.Training.Distributed;

/// <summary>
/// <see cref="ICollective"/> over Open MPI 4.x (<c>MPI_COMM_WORLD</c>) through our own binding of the few C calls
/// needed (<see cref="Interop.Mpi"/>). Rank and size come from MPI itself. Invariants it keeps:
/// <list type="bullet">
/// <item>Every MPI call returns an error code (the communicator's handler is <c>MPI_ERRORS_RETURN</c>); a failure
/// becomes an <see cref="IOException"/> naming the operation, this rank and MPI's own text.</item>
/// <item>No collective waits forever: a watchdog thread ends the whole job (<c>MPI_Abort</c>, exit code
/// <see cref="TimeoutExitCode"/>) after writing which operation on which rank waited longer than the timeout.
/// A rank that dies is normally noticed sooner by the launcher (Open MPI's <c>mpirun</c> kills the other
/// ranks and names the dead one); the watchdog covers a rank that hangs or is stopped, and launchers that
/// do not propagate (e.g. <c>srun</c> without <c>--kill-on-bad-exit</c>).</item>
/// <item>Counts above what one MPI call takes (an <c>int</c>) are split into rounds, so payloads of any size work.</item>
/// </list>
/// MPI is initialised once per process (<c>MPI_THREAD_MULTIPLE</c> requested so the watchdog may abort while the
/// main thread is blocked in a collective; calls are serialized by this class) and finalized by <see cref="Dispose"/>.
/// </summary>
internal sealed class MpiCollective : ICollective
{
    /// <summary>The exit code of a job ended because a collective outlived its timeout.</summary>
    public const int TimeoutExitCode = 75;

    // One MPI call moves at most this many elements or bytes (MPI counts are C ints); 1 GiB keeps displacements of
    // an all-gather of 2 ranks' rounds inside int as well.
    private const int MaxCount = 1 << 28;

    private readonly nint _world;
    private readonly nint _float;
    private readonly nint _byte;
    private readonly nint _sum;
    private readonly TimeSpan _timeout;
    private readonly Lock _gate = new();
    private readonly Thread _watchdog;
    private readonly int _threadLevel;
    private volatile string? _operation;
    private long _operationStarted;
    private volatile bool _disposed;

    private MpiCollective(nint world, nint floatType, nint byteType, nint sum, int rank, int size, int threadLevel, string version, TimeSpan timeout)
    {
        _world = world;
        _float = floatType;
        _byte = byteType;
        _sum = sum;
        Rank = rank;
        WorldSize = size;
        _threadLevel = threadLevel;
        _timeout = timeout;
        Description = $"MPI ({version}), rank {rank} of {size}";
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "videodata MPI watchdog" };
        _watchdog.Start();
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int WorldSize { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>
    /// Loads Open MPI, initialises MPI and returns <c>MPI_COMM_WORLD</c>'s collective. Call once per process, from a
    /// process an MPI launcher started (or as an MPI singleton).
    /// </summary>
    /// <param name="timeout">How long one collective may wait for the other ranks before the job is aborted.</param>
    /// <exception cref="NotSupportedException">libmpi.so.40 is missing or is not Open MPI 4.x.</exception>
    /// <exception cref="IOException">MPI failed to initialise.</exception>
    public static unsafe MpiCollective Initialize(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        if (!NativeLibrary.TryLoad(Interop.Mpi.Library, typeof(MpiCollective).Assembly, DllImportSearchPath.SafeDirectories, out var library))
        {
            throw new NotSupportedException(
                $"This process was started by an MPI launcher, but Open MPI's {Interop.Mpi.Library} could not be loaded: install Debian's openmpi-bin "
                + "(infra/scripts/setup.sh does) on every node.");
        }

        var buffer = stackalloc byte[Interop.Mpi.MaxLibraryVersionString + 1];
        Check(Interop.Mpi.GetLibraryVersion(buffer, out var length), "MPI_Get_library_version", -1);
        var version = Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, Interop.Mpi.MaxLibraryVersionString)).Split('\n', ',')[0].Trim();
        if (!version.StartsWith("Open MPI v4.", StringComparison.Ordinal))
        {
            // Handles and the ABI differ in other implementations and major versions; refuse rather than pass wrong handles.
            throw new NotSupportedException($"{Interop.Mpi.Library} reports '{version}'; this binding is for Open MPI 4.x (Debian 12's openmpi-bin 4.1).");
        }

        nint Export(string symbol) => NativeLibrary.TryGetExport(library, symbol, out var address)
            ? address
            : throw new NotSupportedException($"{Interop.Mpi.Library} ({version}) does not export {symbol}; this binding expects Open MPI 4.x.");
        var world = Export(Interop.Mpi.CommWorldSymbol);
        var floatType = Export(Interop.Mpi.FloatSymbol);
        var byteType = Export(Interop.Mpi.ByteSymbol);
        var sum = Export(Interop.Mpi.SumSymbol);
        var errorsReturn = Export(Interop.Mpi.ErrorsReturnSymbol);

        Check(Interop.Mpi.Initialized(out var initialized), "MPI_Initialized", -1);
        if (initialized != 0)
        {
            throw new InvalidOperationException("MPI is already initialised in this process; open the MPI collective once per process.");
        }

        Check(Interop.Mpi.InitThread(0, 0, Interop.Mpi.ThreadMultiple, out var provided), "MPI_Init_thread", -1);
        if (provided < Interop.Mpi.ThreadSerialized)
        {
            Interop.Mpi.Finalize();
            throw new NotSupportedException(
                $"Open MPI granted thread level {provided}; the trainer calls MPI from whichever thread runs a step and needs MPI_THREAD_SERIALIZED (2) or more.");
        }

        Check(Interop.Mpi.CommSetErrhandler(world, errorsReturn), "MPI_Comm_set_errhandler", -1);
        Check(Interop.Mpi.CommRank(world, out var rank), "MPI_Comm_rank", -1);
        Check(Interop.Mpi.CommSize(world, out var size), "MPI_Comm_size", rank);
        return new MpiCollective(world, floatType, byteType, sum, rank, size, provided, version, timeout);
    }

    /// <inheritdoc />
    public unsafe void AllReduceSum(Span<float> values)
    {
        using var call = Begin("MPI_Allreduce", values.Length * sizeof(float));
        fixed (float* data = values)
        {
            for (var start = 0; start < values.Length; start += MaxCount)
            {
                var count = Math.Min(MaxCount, values.Length - start);
                Check(Interop.Mpi.Allreduce(Interop.Mpi.InPlace, data + start, count, _float, _sum, _world), "MPI_Allreduce", Rank);
            }
        }
    }

    /// <inheritdoc />
    public unsafe void Broadcast(Span<byte> buffer, int root)
    {
        CheckRoot(root);
        using var call = Begin("MPI_Bcast", buffer.Length);
        fixed (byte* data = buffer)
        {
            for (var start = 0; start < buffer.Length; start += MaxCount)
            {
                Check(Interop.Mpi.Bcast(data + start, Math.Min(MaxCount, buffer.Length - start), _byte, root, _world), "MPI_Bcast", Rank);
            }
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        using var call = Begin("MPI_Barrier", 0);
        Check(Interop.Mpi.Barrier(_world), "MPI_Barrier", Rank);
    }

    /// <inheritdoc />
    public IReadOnlyList<byte[]> AllGather(ReadOnlySpan<byte> payload) => GatherCore(payload, root: null)!;

    /// <inheritdoc />
    public IReadOnlyList<byte[]>? Gather(ReadOnlySpan<byte> payload, int root)
    {
        CheckRoot(root);
        return GatherCore(payload, root);
    }

    /// <inheritdoc />
    public void Abort(int exitCode)
    {
        Console.Error.Flush();
        Interop.Mpi.Abort(_world, exitCode);
        Environment.Exit(exitCode);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_gate)
        {
            if (Interop.Mpi.Finalized(out var finalized) == Interop.Mpi.Success && finalized == 0)
            {
                // MPI_Finalize synchronizes with the other ranks; the watchdog keeps it bounded too.
                _operation = "MPI_Finalize";
                Interlocked.Exchange(ref _operationStarted, Environment.TickCount64);
                Interop.Mpi.Finalize();
                _operation = null;
            }
        }
    }

    private unsafe IReadOnlyList<byte[]>? GatherCore(ReadOnlySpan<byte> payload, int? root)
    {
        var name = root is null ? "MPI_Allgatherv" : "MPI_Gatherv";
        using var call = Begin(name, payload.Length);
        // Every rank learns every length first, so both forms can be split into rounds the same way on all ranks.
        var lengths = new byte[WorldSize * sizeof(long)];
        Span<byte> mine = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(mine, payload.Length);
        fixed (byte* send = mine)
        fixed (byte* receive = lengths)
        {
            Check(Interop.Mpi.Allgather(send, sizeof(long), _byte, receive, sizeof(long), _byte, _world), "MPI_Allgather", Rank);
        }

        var sizes = Enumerable.Range(0, WorldSize).Select(r => BinaryPrimitives.ReadInt64LittleEndian(lengths.AsSpan(r * sizeof(long)))).ToArray();
        var keep = root is null || root == Rank;
        var results = keep ? sizes.Select(s => GC.AllocateUninitializedArray<byte>(checked((int)s))).ToArray() : null;
        var chunk = Math.Max(1, Math.Min(MaxCount, int.MaxValue / WorldSize));
        var rounds = sizes.Max() == 0 ? 1 : (int)((sizes.Max() + chunk - 1) / chunk);
        var counts = new int[WorldSize];
        var displacements = new int[WorldSize];
        for (var round = 0; round < rounds; round++)
        {
            long offset = (long)round * chunk;
            var total = 0;
            for (var r = 0; r < WorldSize; r++)
            {
                counts[r] = (int)Math.Clamp(sizes[r] - offset, 0, chunk);
                displacements[r] = total;
                total += counts[r];
            }

            var staging = keep ? GC.AllocateUninitializedArray<byte>(total) : [];
            var sendCount = counts[Rank];
            fixed (byte* send = payload)
            fixed (byte* receive = staging)
            fixed (int* countPointer = counts)
            fixed (int* displacementPointer = displacements)
            {
                var from = send + offset;
                var code = root is null
                    ? Interop.Mpi.Allgatherv(from, sendCount, _byte, receive, countPointer, displacementPointer, _byte, _world)
                    : Interop.Mpi.Gatherv(from, sendCount, _byte, receive, countPointer, displacementPointer, _byte, root.Value, _world);
                Check(code, name, Rank);
            }

            if (results is not null)
            {
                for (var r = 0; r < WorldSize; r++)
                {
                    staging.AsSpan(displacements[r], counts[r]).CopyTo(results[r].AsSpan((int)offset));
                }
            }
        }

        return results;
    }

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Root rank {root} is outside [0, {WorldSize}).");
        }
    }

    private Call Begin(string operation, long bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gate.Enter();
        Interlocked.Exchange(ref _operationStarted, Environment.TickCount64);
        _operation = string.Create(CultureInfo.InvariantCulture, $"{operation} ({bytes:N0} bytes)");
        return new Call(this);
    }

    private void Watch()
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_timeout.TotalMilliseconds / 10, 50, 1000));
        while (true)
        {
            Thread.Sleep(period);
            var operation = _operation;
            if (operation is null)
            {
                continue;
            }

            var waited = TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _operationStarted));
            if (waited < _timeout || !ReferenceEquals(operation, _operation))
            {
                continue;
            }

            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"videodata: rank {Rank} of {WorldSize}: {operation} has waited {waited.TotalSeconds:F0} s for the other ranks (limit {_timeout.TotalSeconds:F0} s): a rank died, hung or was stopped; ending the whole job."));
            Console.Error.Flush();
            if (_threadLevel >= Interop.Mpi.ThreadMultiple)
            {
                Interop.Mpi.Abort(_world, TimeoutExitCode);
            }

            // MPI_Abort should not return; without MPI_THREAD_MULTIPLE it may not be called from here at all.
            Environment.Exit(TimeoutExitCode);
        }
    }

    private static unsafe void Check(int code, string operation, int rank)
    {
        if (code == Interop.Mpi.Success)
        {
            return;
        }

        var text = stackalloc byte[Interop.Mpi.MaxErrorString + 1];
        var message = Interop.Mpi.ErrorString(code, text, out var length) == Interop.Mpi.Success
            ? Encoding.ASCII.GetString(text, Math.Clamp(length, 0, Interop.Mpi.MaxErrorString))
            : "no error text";
        var who = rank >= 0 ? string.Create(CultureInfo.InvariantCulture, $"rank {rank}: ") : string.Empty;
        throw new IOException(string.Create(CultureInfo.InvariantCulture, $"{who}{operation} failed with MPI error {code}: {message}"));
    }

    /// <summary>Marks the end of one MPI call for the watchdog and releases the gate.</summary>
    private readonly struct Call(MpiCollective owner) : IDisposable
    {
        public void Dispose()
        {
            owner._operation = null;
            owner._gate.Exit();
        }
    }
}
