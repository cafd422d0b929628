using VideoData.Features.Runtime;

namespace VideoData.Features.Tests.Runtime;

// The worker is process-wide state, and an encoder running in another test would send its batches to a serving
// thread: these run in the torch collection, one at a time.
[Collection(TorchCollection.Name)]
public sealed class MainThreadWorkerTests
{
    [Fact]
    public void Invoke_NotServing_RunsOnTheCallingThread()
    {
        Assert.False(MainThreadWorker.IsServing);
        var caller = Environment.CurrentManagedThreadId;

        var ranOn = MainThreadWorker.Invoke(() => Environment.CurrentManagedThreadId);

        Assert.Equal(caller, ranOn);
    }

    [Fact]
    public void Serve_InvokeFromPoolThreads_RunsEachItemOnTheServingThreadOneAtATime()
    {
        var serving = Environment.CurrentManagedThreadId;
        var running = 0;
        var overlapped = false;
        int[] ranOn = [];
        int[] entryThreads = [];

        var result = MainThreadWorker.Serve(async () =>
        {
            Assert.True(MainThreadWorker.IsServing);
            var callers = Enumerable.Range(0, 8).Select(i => Task.Run(() => (Entry: Environment.CurrentManagedThreadId, Ran: MainThreadWorker.Invoke(() =>
            {
                overlapped |= Interlocked.Increment(ref running) > 1;
                Thread.Sleep(5);
                Interlocked.Decrement(ref running);
                return Environment.CurrentManagedThreadId;
            })))).ToArray();
            var done = await Task.WhenAll(callers);
            ranOn = done.Select(d => d.Ran).ToArray();
            entryThreads = done.Select(d => d.Entry).ToArray();
            return 42;
        });

        Assert.Equal(42, result);
        Assert.All(ranOn, id => Assert.Equal(serving, id));
        Assert.DoesNotContain(serving, entryThreads);
        Assert.False(overlapped);
        Assert.False(MainThreadWorker.IsServing);
    }

    [Fact]
    public void Serve_WorkThrows_TheCallerGetsTheExceptionAndServingGoesOn()
    {
        var result = MainThreadWorker.Serve(async () =>
        {
            var failure = await Task.Run(() => Assert.Throws<InvalidDataException>(() => MainThreadWorker.Invoke<int>(() => throw new InvalidDataException("bad batch"))));
            Assert.Equal("bad batch", failure.Message);
            return await Task.Run(() => MainThreadWorker.Invoke(() => 7));
        });

        Assert.Equal(7, result);
    }

    [Fact]
    public void Serve_EntryFails_RethrowsAndStopsServing()
    {
        var failure = Assert.Throws<TimeoutException>(() => MainThreadWorker.Serve(async () =>
        {
            await Task.Yield();
            throw new TimeoutException("entry failed");
        }));

        Assert.Equal("entry failed", failure.Message);
        Assert.False(MainThreadWorker.IsServing);
        Assert.Equal(Environment.CurrentManagedThreadId, MainThreadWorker.Invoke(() => Environment.CurrentManagedThreadId));
    }
}
