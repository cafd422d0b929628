using VideoData.Training.Data;

namespace VideoData.Training.Tests.Data;

public sealed class SyntheticCorpusTests
{
    private static readonly SyntheticCorpusOptions s_options = new() { Videos = 24, FeatureDim = 16, MinSeconds = 20, MaxSeconds = 40, VocabularySize = 50, WordsPerVideo = 5, Seed = 9 };

    [Fact]
    public void GenerateWithTruth_NoNoise_IsTheCleanCorpusWithEverySegmentAligned()
    {
        var clean = SyntheticCorpus.Generate(s_options);
        var truth = SyntheticCorpus.GenerateWithTruth(s_options);

        Assert.Equal(clean.Count, truth.Videos.Count);
        for (var i = 0; i < clean.Count; i++)
        {
            Assert.Equal(clean[i].Features, truth.Videos[i].Features);
            Assert.Equal(clean[i].Segments.Select(s => (s.Start, s.End)), truth.Videos[i].Segments.Select(s => (s.Start, s.End)));
        }

        Assert.Equal(clean.Sum(v => v.Segments.Count), truth.Truth.Count);
        Assert.All(truth.Truth, t => Assert.Equal((SyntheticSegmentKind.Aligned, 0.0), (t.Kind, t.OffsetSeconds)));
    }

    [Fact]
    public void GenerateWithTruth_ShiftsAndReplacesTheStatedFractionsAndNothingElse()
    {
        var clean = SyntheticCorpus.Generate(s_options);
        var noisy = SyntheticCorpus.GenerateWithTruth(s_options with { ShiftFraction = 0.3, UnrelatedFraction = 0.2 });
        var again = SyntheticCorpus.GenerateWithTruth(s_options with { ShiftFraction = 0.3, UnrelatedFraction = 0.2 });
        Assert.Equal(noisy.Truth, again.Truth);

        var total = noisy.Truth.Count;
        var shifted = noisy.Truth.Count(t => t.Kind == SyntheticSegmentKind.Shifted) / (double)total;
        var unrelated = noisy.Truth.Count(t => t.Kind == SyntheticSegmentKind.Unrelated) / (double)total;
        Assert.InRange(shifted, 0.2, 0.4);
        Assert.InRange(unrelated, 0.12, 0.28);

        for (var v = 0; v < clean.Count; v++)
        {
            // The video is what it shows: features never change.
            Assert.Equal(clean[v].Features, noisy.Videos[v].Features);
            var topic = clean[v].Segments.SelectMany(s => s.TokenIds).ToHashSet();
            for (var s = 0; s < clean[v].Segments.Count; s++)
            {
                var before = clean[v].Segments[s];
                var after = noisy.Videos[v].Segments[s];
                var truth = noisy.Truth.Single(t => t.VideoId == clean[v].VideoId && t.Segment == s);
                switch (truth.Kind)
                {
                    case SyntheticSegmentKind.Shifted:
                        Assert.InRange(Math.Abs(truth.OffsetSeconds), 2.0 - 0.005, 6.0 + 0.005);
                        Assert.Equal(before.Start + truth.OffsetSeconds, after.Start, 6);
                        Assert.Equal(before.End + truth.OffsetSeconds, after.End, 6);
                        Assert.InRange(after.Start, 0, clean[v].Seconds);
                        Assert.InRange(after.End, 0, clean[v].Seconds);
                        Assert.Equal(before.TokenIds, after.TokenIds);
                        break;
                    case SyntheticSegmentKind.Unrelated:
                        Assert.Equal((before.Start, before.End), (after.Start, after.End));
                        Assert.Equal(before.TokenIds.Length, after.TokenIds.Length);
                        Assert.All(after.TokenIds, t => Assert.DoesNotContain(t, topic));
                        break;
                    default:
                        Assert.Equal((before.Start, before.End), (after.Start, after.End));
                        Assert.Equal(before.TokenIds, after.TokenIds);
                        break;
                }
            }
        }
    }

    [Fact]
    public void Generate_BadNoiseOptions_NameTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => SyntheticCorpus.GenerateWithTruth(s_options with { ShiftFraction = 0.7, UnrelatedFraction = 0.5 }));
        Assert.Contains("UnrelatedFraction", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => SyntheticCorpus.GenerateWithTruth(s_options with { MinShiftSeconds = 3, MaxShiftSeconds = 2 }));
        Assert.Contains("MaxShiftSeconds", ex.Message, StringComparison.Ordinal);
    }
}
