using VideoData.Core.Failures;
using static TorchSharp.torch;

namespace VideoData.Features.Runtime;

/// <summary>
/// The one place libtorch work runs: a <see cref="ComputeThread"/> carrying the process's libtorch settings. Starting a
/// host caps oneDNN's instruction set (<see cref="OneDnnIsa"/>, before any convolution), applies the native heap policy
/// (process-wide, <see cref="ComputeHostOptions.NativeHeap"/>) and sets the thread's intra-op thread count, once; every
/// forward pass, training step and model build then goes through <see cref="RunAsync{T}"/> and runs on that thread
/// with those settings, whichever pool thread awaited it. The encoder (<c>S3dEncoder</c>) and the trainer take a host
/// from their caller (the CLI lends its main thread: <see cref="ComputeThread.Serve{T}"/>) or, given none, start one of
/// their own on a dedicated thread.
/// <para>
/// Work on the host also holds the cores for its duration: decoders that share them pause before each packet while it
/// runs (<see cref="WaitForTurn"/>, given to them as a plain delegate), because libtorch splits each layer statically
/// between its threads and a decoder beside a pass only delays one thread's share of every layer.
/// </para>
/// Invariants: settings are applied once, on the host's thread, before any work of the host runs; one host per thread
/// at a time; no process-wide static decides where work runs. Thread-safe.
/// </summary>
public sealed class ComputeHost : IDisposable
{
    private readonly ComputeThread _thread;
    private readonly bool _ownsThread;
    private readonly CpuTurns _turns = new();
    private int _disposed;

    private ComputeHost(ComputeThread thread, bool ownsThread, ComputeHostOptions options)
    {
        _thread = thread;
        _ownsThread = ownsThread;
        Options = options;
    }

    /// <summary>The settings the host applied.</summary>
    public ComputeHostOptions Options { get; }

    /// <summary>libtorch's intra-op thread count on the host's thread, as read back after the host applied its settings.</summary>
    public int IntraOpThreads { get; private set; }

    /// <summary>Whether host work runs now (decoders sharing the cores wait while it does).</summary>
    public bool IsBusy => _turns.IsHeld;

    /// <summary>How many times a caller of <see cref="WaitForTurn"/> had to wait (a diagnostic).</summary>
    public long TurnWaits => _turns.Waits;

    /// <summary>
    /// Starts a host on <paramref name="thread"/> (which the caller keeps owning), or on a dedicated thread of its own
    /// when null, and applies <paramref name="options"/> there before returning.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    /// <exception cref="InvalidOperationException"><paramref name="thread"/> already carries another host.</exception>
    /// <exception cref="NativeDependencyException">libtorch (TorchSharp) cannot be loaded.</exception>
    public static ComputeHost Start(ComputeHostOptions? options = null, ComputeThread? thread = null)
    {
        options ??= new ComputeHostOptions();
        options.Validate();

        // Every process that computes, CLI or library, gets the cap before its first convolution (oneDNN reads it once).
        OneDnnIsa.CapUnlessSet();

        var owns = thread is null;
        thread ??= ComputeThread.Start();
        var host = new ComputeHost(thread, owns, options);
        if (!thread.TryAttach(host))
        {
            throw new InvalidOperationException($"Compute thread {thread.ThreadId} already carries a compute host; dispose that one first (two hosts would fight over its libtorch settings).");
        }

        try
        {
            host.IntraOpThreads = thread.Run(() => Apply(options));
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the host's thread, after the work queued before it, holding the cores while it
    /// runs; completes with its result or exception (continuations run on the thread pool).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The host (or its thread) has stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the work started.</exception>
    public ValueTask<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _thread.RunAsync(() =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var hold = _turns.Hold();
            return work();
        });
    }

    /// <summary>
    /// <see cref="RunAsync{T}"/> for synchronous callers (a constructor, <see cref="IDisposable.Dispose"/>): blocks the
    /// caller until the work is done. Never call it from code that itself runs on the host inside an async pass.
    /// </summary>
    public T Run<T>(Func<T> work) => RunAsync(work).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Returns at once when no host work runs; otherwise blocks until none does. Returns whether it waited. The hook
    /// decoders sharing the host's cores call before each packet.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public bool WaitForTurn(CancellationToken cancellationToken) => _turns.WaitTurn(cancellationToken);

    /// <summary>Releases the thread for another host (and ends it when the host started it). Work already queued still runs.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _thread.Detach(this);
        if (_ownsThread)
        {
            _thread.Dispose();
        }
    }

    private static int Apply(ComputeHostOptions options)
    {
        switch (options.NativeHeap)
        {
            case NativeHeapPolicy.Reuse:
                NativeHeap.TryReuseFreedBlocks();
                break;
            case NativeHeapPolicy.MmapThreshold when options.NativeMmapThreshold > 0:
                NativeHeap.TrySetMmapThreshold(options.NativeMmapThreshold);
                break;
        }

        try
        {
            if (options.IntraOpThreads > 0)
            {
                set_num_threads(options.IntraOpThreads);
            }

            return get_num_threads();
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
        {
            throw new NativeDependencyException($"libtorch (TorchSharp) could not be loaded: {ex.GetBaseException().Message}. Run `videodata doctor` for details.", ex);
        }
    }
}
