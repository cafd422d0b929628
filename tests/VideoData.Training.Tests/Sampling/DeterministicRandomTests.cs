using VideoData.Training.Sampling;

namespace VideoData.Training.Tests.Sampling;

public sealed class DeterministicRandomTests
{
    [Fact]
    public void For_SameKey_SameSequence_OtherKey_OtherSequence()
    {
        var a = Draw(DeterministicRandom.For(1, 2, "p", "v"));
        Assert.Equal(a, Draw(DeterministicRandom.For(1, 2, "p", "v")));
        Assert.NotEqual(a, Draw(DeterministicRandom.For(1, 2, "p", "w")));
        Assert.NotEqual(a, Draw(DeterministicRandom.For(1, 3, "p", "v")));
        Assert.NotEqual(a, Draw(DeterministicRandom.For(2, 2, "p", "v")));
        Assert.NotEqual(a, Draw(DeterministicRandom.For(1, 2, "q", "v")));
    }

    [Fact]
    public void NextInt_CoversTheInclusiveRangeUniformly()
    {
        var rng = DeterministicRandom.For(0, 0, "uniform", string.Empty);
        var counts = new int[30];
        for (var i = 0; i < 30_000; i++)
        {
            counts[rng.NextInt(3, 32) - 3]++;
        }

        // Each of the 30 values expects 1000 draws; 5 standard deviations is about ±160.
        Assert.All(counts, c => Assert.InRange(c, 840, 1160));
    }

    private static ulong[] Draw(DeterministicRandom rng) => Enumerable.Range(0, 8).Select(_ => rng.NextUInt64()).ToArray();
}
