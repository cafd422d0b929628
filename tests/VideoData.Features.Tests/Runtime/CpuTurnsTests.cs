using VideoData.Features.Runtime;

namespace VideoData.Features.Tests.Runtime;

public sealed class CpuTurnsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void WaitTurn_NothingHeld_ReturnsAtOnceWithoutWaiting()
    {
        var turns = new CpuTurns();

        Assert.False(turns.IsHeld);
        Assert.False(turns.WaitTurn());
        Assert.Equal(0, turns.Waits);
    }

    [Fact]
    public async Task WaitTurn_WhileHeld_BlocksUntilTheLastHoldEnds()
    {
        var turns = new CpuTurns();
        var outer = turns.Hold();
        var inner = turns.Hold();
        using var entered = new ManualResetEventSlim();
        var waiter = Task.Factory.StartNew(
            () =>
            {
                entered.Set();
                return turns.WaitTurn();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        Assert.True(entered.Wait(Patience));

        // Give the waiter ample time to (wrongly) get through while the cores are held.
        await Task.Delay(200);
        Assert.False(waiter.IsCompleted);
        inner.Dispose();
        await Task.Delay(200);
        Assert.False(waiter.IsCompleted);
        Assert.True(turns.IsHeld);

        outer.Dispose();
        Assert.True(await waiter.WaitAsync(Patience));
        Assert.False(turns.IsHeld);
        Assert.Equal(1, turns.Waits);
    }

    [Fact]
    public void Hold_DisposedTwice_ReleasesOnce()
    {
        var turns = new CpuTurns();
        using var other = turns.Hold();
        var hold = turns.Hold();

        hold.Dispose();
        hold.Dispose();

        Assert.True(turns.IsHeld);
    }

    [Fact]
    public void WaitTurn_CancelledWhileHeld_Throws()
    {
        var turns = new CpuTurns();
        using var hold = turns.Hold();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        Assert.ThrowsAny<OperationCanceledException>(() => turns.WaitTurn(cancel.Token));
    }
}
