using System.Collections.Concurrent;

namespace VideoData.Features.Runtime;

/// <summary>
/// One thread that runs posted work items one at a time, in order: the thread a <see cref="ComputeHost"/> runs
/// libtorch work on. Either a dedicated background thread (<see cref="Start"/>) or the caller's own thread lent for
/// the duration of an entry point (<see cref="ForCurrentThread"/> then <see cref="Serve{T}"/>: the CLI lends its main thread).
/// <para>
/// Why the main thread matters: glibc serves each thread's allocations from that thread's arena, and only the main
/// thread's arena grows by <c>brk</c> and can keep a freed block of any size for reuse (<see cref="NativeHeap"/>).
/// Every other arena is built of 64 MB heaps, so on another thread each of libtorch's larger activation blocks is a
/// fresh mapping per batch that the kernel zero-fills page by page again (measured in the pipeline: 4–14 s of system
/// time per 120 video-seconds, against about 2 s on the main thread). And one thread for all passes means one OpenMP
/// team: libtorch gives every thread that starts parallel work its own team, and once a process has more OpenMP
/// threads than cores libgomp sleeps at barriers instead of spinning (a second team made every pass ~10–20 % slower).
/// </para>
/// Invariants: work runs only on this thread, never inline on a caller's thread (except when the caller already is
/// this thread, where queueing would deadlock); work posted after the thread stopped fails with
/// <see cref="ObjectDisposedException"/> instead of running elsewhere. Thread-safe.
/// </summary>
public sealed class ComputeThread : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly bool _owned;
    private int _threadId;
    private int _served;

    // The host whose settings the thread carries now (one at a time: two hosts would fight over the thread count).
    private ComputeHost? _host;

    private ComputeThread(bool owned)
    {
        _owned = owned;
    }

    /// <summary>The managed id of the thread that runs the work.</summary>
    public int ThreadId => Volatile.Read(ref _threadId);

    /// <summary>Whether the calling code runs on this thread.</summary>
    public bool IsCurrent => Environment.CurrentManagedThreadId == ThreadId;

    /// <summary>Starts a dedicated background thread named <paramref name="name"/>; <see cref="Dispose"/> ends it.</summary>
    public static ComputeThread Start(string name = "videodata-compute")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var computeThread = new ComputeThread(owned: true);
        var started = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            Volatile.Write(ref computeThread._threadId, Environment.CurrentManagedThreadId);
            started.Set();
            computeThread.Drain();
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        started.Wait();
        started.Dispose();
        return computeThread;
    }

    /// <summary>
    /// A handle on the calling thread (the main thread, in the CLI) that work can be posted to at once; it runs once
    /// the thread calls <see cref="Serve{T}"/>. Work posted from the thread itself runs inline.
    /// </summary>
    public static ComputeThread ForCurrentThread() => new(owned: false) { _threadId = Environment.CurrentManagedThreadId };

    /// <summary>
    /// Lends this thread (call it on the thread <see cref="ForCurrentThread"/> was called on) until
    /// <paramref name="entry"/> completes: the entry runs on the thread pool and this thread runs the work posted here.
    /// Returns the entry's result or rethrows its exception. Work posted after the entry completed fails with
    /// <see cref="ObjectDisposedException"/>. Serves once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on another thread, or a second time.</exception>
    public T Serve<T>(Func<Task<T>> entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_owned || !IsCurrent)
        {
            throw new InvalidOperationException("Serve lends the thread ComputeThread.ForCurrentThread was called on; call it there.");
        }

        if (Interlocked.Exchange(ref _served, 1) != 0)
        {
            throw new InvalidOperationException("This compute thread has already served.");
        }

        var task = Task.Run(entry);
        _ = task.ContinueWith(_ => _queue.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Drain();
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this thread after the work posted before it and completes with its result or
    /// exception (continuations run on the thread pool, never on this thread). Runs it at once when called on this thread.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The thread has stopped serving.</exception>
    public ValueTask<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (IsCurrent)
        {
            try
            {
                return ValueTask.FromResult(work());
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<T>(ex);
            }
        }

        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                completion.SetResult(work());
            }
            catch (Exception ex)
            {
                completion.SetException(ex);
            }
        });
        return new ValueTask<T>(completion.Task);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this thread and blocks the caller until it is done (for synchronous APIs such as
    /// a constructor or <see cref="IDisposable.Dispose"/>); rethrows its exception with the original stack.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The thread has stopped serving.</exception>
    public T Run<T>(Func<T> work) => RunAsync(work).AsTask().GetAwaiter().GetResult();

    /// <summary>Ends a thread made by <see cref="Start"/> once the work already posted is done; a lent thread stops serving when its entry completes.</summary>
    public void Dispose()
    {
        if (_owned)
        {
            _queue.CompleteAdding();
        }
    }

    /// <summary>Attaches <paramref name="host"/>; false when another host is attached (one set of libtorch settings per thread).</summary>
    internal bool TryAttach(ComputeHost host) => Interlocked.CompareExchange(ref _host, host, null) is null;

    internal void Detach(ComputeHost host) => Interlocked.CompareExchange(ref _host, null, host);

    private void Post(Action item)
    {
        try
        {
            _queue.Add(item);
        }
        catch (InvalidOperationException ex)
        {
            // Nobody will take the item: running it on the caller's thread instead would silently change where
            // libtorch's state lives.
            throw new ObjectDisposedException($"The compute thread {ThreadId} has stopped serving; libtorch work can no longer run on it.", ex);
        }
    }

    private void Drain()
    {
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            work();
        }
    }
}
