using VideoData.Reports.Corpus;
using VideoData.Shards;

namespace VideoData.Reports.Tests.Corpus;

/// <summary>The feature verdict: collapsed, random-weight and healthy samples are told apart in words.</summary>
public sealed class FeatureHealthTests
{
    private static FeatureRecord Video(string id, int seconds, Func<int, int, float> value)
    {
        const int dim = 16;
        var features = new float[seconds * dim];
        for (var s = 0; s < seconds; s++)
        {
            for (var d = 0; d < dim; d++)
            {
                features[(s * dim) + d] = value(s, d);
            }
        }

        return new FeatureRecord { VideoId = id, Duration = seconds, Seconds = seconds, Dim = dim, Features = features };
    }

    [Fact]
    public void Measure_EveryVideoTheSameDirection_SaysCollapsed()
    {
        var sample = Enumerable.Range(0, 10).Select(i => Video($"v{i}", 3, (s, d) => (1 + (0.001f * i)) * (d + 1))).ToList();

        var health = FeatureHealth.Measure(sample, randomWeights: false);

        Assert.Equal("bad", health.Level);
        Assert.Contains("COLLAPSED", health.Verdict, StringComparison.Ordinal);
        Assert.Equal(30, health.SecondNorms.Count);
        Assert.All(health.MeanCosine, c => Assert.True(c > 0.99));
    }

    [Fact]
    public void Measure_VideosInDifferentDirections_SaysNothingSuggestsCollapse()
    {
        var random = new Random(3);
        var sample = Enumerable.Range(0, 12).Select(i => Video($"v{i}", 4, (s, d) => (float)((random.NextDouble() * 2) - 1))).ToList();

        var health = FeatureHealth.Measure(sample, randomWeights: false);

        Assert.Equal("ok", health.Level);
        Assert.Contains("nothing suggests a collapsed encoder", health.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public void Measure_RandomWeightsInLineage_SaysSoWhateverTheNumbers()
    {
        var random = new Random(4);
        var sample = Enumerable.Range(0, 12).Select(i => Video($"v{i}", 4, (s, d) => (float)((random.NextDouble() * 2) - 1))).ToList();

        var health = FeatureHealth.Measure(sample, randomWeights: true);

        Assert.Equal("bad", health.Level);
        Assert.Contains("RANDOM weights", health.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public void Measure_OneVideo_SaysTooFewToJudge()
    {
        var health = FeatureHealth.Measure([Video("v", 2, (s, d) => d)], randomWeights: false);

        Assert.Equal("warn", health.Level);
        Assert.Contains("too few to judge", health.Verdict, StringComparison.Ordinal);
        Assert.Empty(health.MeanCosine);
    }
}
