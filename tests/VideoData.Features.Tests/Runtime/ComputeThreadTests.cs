using VideoData.Features.Runtime;

namespace VideoData.Features.Tests.Runtime;

public sealed class ComputeThreadTests
{
    /// <summary>Eight pool threads post one item each; returns (posting thread, thread that ran it) and whether two items overlapped.</summary>
    private static async Task<((int Entry, int Ran)[] Runs, bool Overlapped)> PostFromEightPoolThreadsAsync(ComputeThread thread)
    {
        var running = 0;
        var overlapped = false;
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () => (Entry: Environment.CurrentManagedThreadId, Ran: await thread.RunAsync(() =>
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            Thread.Sleep(5);
            Interlocked.Decrement(ref running);
            return Environment.CurrentManagedThreadId;
        })))).ToArray();
        return (await Task.WhenAll(callers), overlapped);
    }

    [Fact]
    public async Task RunAsync_OnADedicatedThread_RunsEveryItemThereOneAtATimeAndNeverOnTheCaller()
    {
        using var thread = ComputeThread.Start();

        var (done, overlapped) = await PostFromEightPoolThreadsAsync(thread);

        Assert.All(done, d => Assert.Equal(thread.ThreadId, d.Ran));
        Assert.DoesNotContain(thread.ThreadId, done.Select(d => d.Entry));
        Assert.False(overlapped);
    }

    [Fact]
    public void Serve_RunAsyncFromPoolThreads_RunsEachItemOnTheServingThreadOneAtATime()
    {
        var serving = Environment.CurrentManagedThreadId;
        var thread = ComputeThread.ForCurrentThread();
        var overlapped = false;
        int[] ranOn = [];
        int[] entryThreads = [];

        var result = thread.Serve(async () =>
        {
            (var done, overlapped) = await PostFromEightPoolThreadsAsync(thread);
            ranOn = done.Select(d => d.Ran).ToArray();
            entryThreads = done.Select(d => d.Entry).ToArray();
            return 42;
        });

        Assert.Equal(42, result);
        Assert.All(ranOn, id => Assert.Equal(serving, id));
        Assert.DoesNotContain(serving, entryThreads);
        Assert.False(overlapped);
    }

    [Fact]
    public void Serve_WorkThrows_TheCallerGetsTheExceptionAndServingGoesOn()
    {
        var thread = ComputeThread.ForCurrentThread();
        var result = thread.Serve(async () =>
        {
            var failure = await Assert.ThrowsAsync<InvalidDataException>(async () => await thread.RunAsync<int>(() => throw new InvalidDataException("bad batch")));
            Assert.Equal("bad batch", failure.Message);
            return await thread.RunAsync(() => 7);
        });

        Assert.Equal(7, result);
    }

    [Fact]
    public async Task Serve_EntryFails_RethrowsAndLaterWorkIsRefusedInsteadOfRunningElsewhere()
    {
        var thread = ComputeThread.ForCurrentThread();
        var failure = Assert.Throws<TimeoutException>(() => thread.Serve<int>(async () =>
        {
            await Task.Yield();
            throw new TimeoutException("entry failed");
        }));

        Assert.Equal("entry failed", failure.Message);
        Assert.Throws<InvalidOperationException>(() => thread.Serve(() => Task.FromResult(0)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Task.Run(() => thread.RunAsync(() => 1).AsTask()));
    }

    [Fact]
    public async Task Serve_OnAnotherThread_IsRefused()
    {
        var thread = ComputeThread.ForCurrentThread();

        var failure = await Task.Run(() => Assert.Throws<InvalidOperationException>(() => thread.Serve(() => Task.FromResult(0))));

        Assert.Contains("ForCurrentThread", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_OnTheThreadItself_RunsInlineInsteadOfDeadlocking()
    {
        using var thread = ComputeThread.Start();

        var (outer, inner) = await thread.RunAsync(() => (Environment.CurrentManagedThreadId, thread.Run(() => Environment.CurrentManagedThreadId)));

        Assert.Equal(thread.ThreadId, outer);
        Assert.Equal(thread.ThreadId, inner);
    }
}
