using VideoData.Media.Decode;

namespace VideoData.Media.Tests.Decode;

/// <summary>The fps filter and CLI cfr rules on hand-made timelines (ticks are output frames).</summary>
public sealed class FpsSamplerTests
{
    [Fact]
    public void Push_FramesOnEveryTick_EmitsEachOnce()
    {
        Assert.Equal([1, 1, 1, 2], Run([0, 1, 2, 3], end: 5));
    }

    [Fact]
    public void Push_GapInTimestamps_RepeatsTheFrameBeforeTheGap()
    {
        Assert.Equal([1, 3, 1], Run([0, 1, 4], end: 5));
    }

    [Fact]
    public void Push_TwoFramesOnOneTick_DropsTheEarlierOne()
    {
        Assert.Equal([1, 0, 1, 1], Run([0, 1, 1, 2], end: 3));
    }

    [Fact]
    public void Push_TimestampGoingBackwards_DropsTheFrameBeforeIt()
    {
        // Frame 1 covers ticks 1–2 (the next frame says 3); frame 2 then has nowhere to go.
        Assert.Equal([1, 2, 0, 1], Run([0, 1, 3, 2], end: 4));
    }

    [Fact]
    public void Push_LeadingFrameWithoutTimestamp_IsDiscarded()
    {
        Assert.Equal([0, 1, 1], Run([FpsSampler.NoTimestamp, 0, 1], end: 2));
    }

    [Fact]
    public void Push_FirstFrameAfterZero_IsRepeatedFromZeroAsTheCliCfrOutputDoes()
    {
        Assert.Equal([11 + 2, 1], Run([11, 13], end: 14));
    }

    [Fact]
    public void Push_FramesBeforeMinusTwo_AreDropped()
    {
        Assert.Equal([0, 0, 1, 1, 1], Run([-4, -3, -2, -1, 0], end: 1));
    }

    [Fact]
    public void Finish_EndBeforeTheLastFrame_EmitsNothingForIt()
    {
        Assert.Equal([1, 1, 0], Run([0, 1, 2], end: 2));
    }

    [Fact]
    public void Finish_WithoutFrames_EmitsNothing()
    {
        Assert.Equal(0, new FpsSampler().Finish(10));
    }

    /// <summary>Per input frame, how many output frames show it.</summary>
    private static long[] Run(long[] ticks, long end)
    {
        var sampler = new FpsSampler();
        var counts = new List<long>();
        Assert.Equal(0, sampler.Push(ticks[0]));
        foreach (var tick in ticks.Skip(1))
        {
            counts.Add(sampler.Push(tick));
        }

        counts.Add(sampler.Finish(end));
        return [.. counts];
    }
}
