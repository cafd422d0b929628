namespace VideoData.Features.Runtime;

/// <summary>
/// Gives a worker's cores to one compute-bound pass at a time (a <see cref="ComputeHost"/> holds them for each work item). On a CPU-only worker the encoder's forward pass
/// keeps every core busy by itself, and libtorch splits each layer statically between its threads, so a decoder
/// running beside it adds nothing: it delays one thread's share of every layer while the other threads wait for it.
/// With turns, a forward pass holds the cores (<see cref="Hold"/>) and decoders check in before each packet
/// (<see cref="WaitTurn"/>): they pause while a pass runs and decode on every core between passes. A pass never
/// waits for the decoders (at most the packet each one is in the middle of overlaps its start), so no stage can end
/// up waiting on another that waits on it. Thread-safe; holds may nest and overlap (the cores are free when the last
/// one ends).
/// </summary>
internal sealed class CpuTurns
{
    private readonly object _sync = new();

    // Set while no pass holds the cores. Never asked for its WaitHandle, so it owns no kernel object to dispose.
    private readonly ManualResetEventSlim _free = new(initialState: true);
    private int _holds;
    private long _waits;

    /// <summary>Whether a pass holds the cores now.</summary>
    public bool IsHeld => !_free.IsSet;

    /// <summary>How many times a caller of <see cref="WaitTurn"/> had to wait (a diagnostic; tests check the turns work with it).</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Takes the cores until the returned hold is disposed; callers of <see cref="WaitTurn"/> wait meanwhile.</summary>
    public IDisposable Hold()
    {
        lock (_sync)
        {
            if (_holds++ == 0)
            {
                _free.Reset();
            }
        }

        return new Holding(this);
    }

    /// <summary>
    /// Returns at once when no pass holds the cores; otherwise blocks until none does. Returns whether it waited.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public bool WaitTurn(CancellationToken cancellationToken = default)
    {
        if (_free.IsSet)
        {
            return false;
        }

        Interlocked.Increment(ref _waits);
        _free.Wait(cancellationToken);
        return true;
    }

    private void Release()
    {
        lock (_sync)
        {
            if (--_holds == 0)
            {
                _free.Set();
            }
        }
    }

    private sealed class Holding(CpuTurns owner) : IDisposable
    {
        private CpuTurns? _owner = owner;

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release();
    }
}
