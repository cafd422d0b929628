using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace VideoData.Features.Runtime;

/// <summary>
/// Lends the process's main thread to the encoder's forward passes. glibc serves each thread's allocations from that
/// thread's arena, and only the main thread's arena grows by <c>brk</c> and can keep a freed block of any size for
/// reuse (<see cref="Extraction.NativeHeap"/>). Every other arena is built of 64 MB heaps, so on a pool thread each of
/// libtorch's larger activation blocks is a fresh mapping per batch that the kernel zero-fills page by page again
/// (measured in the pipeline: 4–14 s of system time per 120 video-seconds, against about 2 s on the main thread).
/// The CLI hands its main thread over with <see cref="Serve"/>; while it serves, <see cref="Invoke{T}"/> runs its work
/// there, one item at a time. Anywhere else (tests, library callers, after Serve has returned) the work runs inline on
/// the calling thread. Thread-safe.
/// </summary>
internal static class MainThreadWorker
{
    // Null unless a thread serves; the queue and the serving thread are published together.
    private static Serving? s_serving;

    /// <summary>True while the main thread serves <see cref="Invoke{T}"/>.</summary>
    public static bool IsServing => Volatile.Read(ref s_serving) is not null;

    /// <summary>
    /// Call on the main thread: runs <paramref name="entry"/> on the thread pool and executes the work
    /// <see cref="Invoke{T}"/> sends here until it completes; returns its result (or throws its exception).
    /// </summary>
    public static int Serve(Func<Task<int>> entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var queue = new BlockingCollection<Action>();
        if (Interlocked.CompareExchange(ref s_serving, new Serving(queue, Environment.CurrentManagedThreadId), null) is not null)
        {
            throw new InvalidOperationException("The main thread already serves native work.");
        }

        var task = Task.Run(entry);
        _ = task.ContinueWith(_ => queue.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            foreach (var work in queue.GetConsumingEnumerable())
            {
                work();
            }
        }
        finally
        {
            Volatile.Write(ref s_serving, null);
        }

        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the main thread when it serves (blocking the caller until it is done), else inline;
    /// returns its result or rethrows its exception with the original stack.
    /// </summary>
    public static T Invoke<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var serving = Volatile.Read(ref s_serving);
        if (serving is null || Environment.CurrentManagedThreadId == serving.ThreadId)
        {
            return work();
        }

        var item = new WorkItem<T>(work);
        try
        {
            serving.Queue.Add(item.Run);
        }
        catch (InvalidOperationException)
        {
            // Serve is ending (its entry completed while this caller still ran): nobody will take the item.
            return work();
        }

        return item.Wait();
    }

    private sealed record Serving(BlockingCollection<Action> Queue, int ThreadId);

    private sealed class WorkItem<T>(Func<T> work)
    {
        private readonly ManualResetEventSlim _done = new();
        private T? _result;
        private ExceptionDispatchInfo? _failure;

        public void Run()
        {
            try
            {
                _result = work();
            }
            catch (Exception ex)
            {
                _failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                _done.Set();
            }
        }

        public T Wait()
        {
            _done.Wait();
            _done.Dispose();
            _failure?.Throw();
            return _result!;
        }
    }
}
