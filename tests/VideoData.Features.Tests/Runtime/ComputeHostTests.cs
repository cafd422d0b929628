using VideoData.Features.Runtime;
using static TorchSharp.torch;

namespace VideoData.Features.Tests.Runtime;

// Sets libtorch thread counts: in the torch collection, one at a time.
[Collection(TorchCollection.Name)]
public sealed class ComputeHostTests
{
    [Fact]
    public async Task Start_SetsTheIntraOpCountOnceAndEveryWorkItemSeesItWhateverOtherThreadsSet()
    {
        var normal = IntraOpThreadsTests.RunOnNewThread(get_num_threads);
        var wanted = normal + 1;
        using var host = ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = wanted });
        try
        {
            Assert.Equal(wanted, host.IntraOpThreads);

            // Another thread changing its own count (a retrieval worker lowering it for a moment) does not reach the host's.
            IntraOpThreadsTests.RunOnNewThread(() => { set_num_threads(1); return 0; });
            var seen = new List<int>();
            for (var i = 0; i < 3; i++)
            {
                // Awaited from whatever pool thread the previous await resumed on.
                seen.Add(await host.RunAsync(get_num_threads));
            }

            Assert.Equal([wanted, wanted, wanted], seen);
        }
        finally
        {
            IntraOpThreadsTests.RunOnNewThread(() => { set_num_threads(normal); return 0; });
        }
    }

    [Fact]
    public async Task RunAsync_RunsOnTheLentThreadWhenGivenOne()
    {
        using var thread = ComputeThread.Start("lent-for-test");
        using var host = ComputeHost.Start(thread: thread);

        var ranOn = await host.RunAsync(() => Environment.CurrentManagedThreadId);

        Assert.Equal(thread.ThreadId, ranOn);
    }

    [Fact]
    public void Start_ASecondHostOnTheSameThread_IsRefusedUntilTheFirstIsDisposed()
    {
        using var thread = ComputeThread.Start();
        var first = ComputeHost.Start(thread: thread);

        var refused = Assert.Throws<InvalidOperationException>(() => ComputeHost.Start(thread: thread));
        Assert.Contains("already carries a compute host", refused.Message, StringComparison.Ordinal);

        first.Dispose();
        using var second = ComputeHost.Start(thread: thread);
        Assert.Equal(thread.ThreadId, second.Run(() => Environment.CurrentManagedThreadId));
    }

    [Fact]
    public async Task RunAsync_HoldsTheCoresWhileWorkRunsAndDecodersWaitForTheirTurn()
    {
        using var host = ComputeHost.Start();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();

        Assert.False(host.IsBusy);
        Assert.False(host.WaitForTurn(CancellationToken.None));
        var work = host.RunAsync(() =>
        {
            started.Set();
            release.Wait();
            return 1;
        }).AsTask();
        started.Wait();
        Assert.True(host.IsBusy);

        // A decoder's stand-in checks in while the work runs: it waits until the work is done.
        var decoder = Task.Run(() => host.WaitForTurn(CancellationToken.None));
        await Task.Delay(50);
        Assert.False(decoder.IsCompleted);
        release.Set();

        Assert.Equal(1, await work);
        Assert.True(await decoder);
        Assert.False(host.IsBusy);
        Assert.True(host.TurnWaits >= 1);
    }

    [Fact]
    public async Task RunAsync_AfterDispose_IsRefused()
    {
        var host = ComputeHost.Start();
        host.Dispose();

        Assert.Throws<ObjectDisposedException>(() => host.RunAsync(() => 1));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task RunAsync_CancelledBeforeTheWorkStarts_DoesNotRunIt()
    {
        using var host = ComputeHost.Start();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var ran = false;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.RunAsync(() => ran = true, cancelled.Token));

        Assert.False(ran);
    }

    [Theory]
    [InlineData(-1, NativeHeapPolicy.System, 0, "IntraOpThreads")]
    [InlineData(0, (NativeHeapPolicy)7, 0, "NativeHeap")]
    [InlineData(0, NativeHeapPolicy.MmapThreshold, -5, "NativeMmapThreshold")]
    public void Start_BadOption_NamesIt(int threads, NativeHeapPolicy heap, int threshold, string option)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = threads, NativeHeap = heap, NativeMmapThreshold = threshold }));

        Assert.Equal(option, error.ParamName);
    }
}
