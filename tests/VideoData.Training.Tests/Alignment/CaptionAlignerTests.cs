using VideoData.Training.Alignment;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Sampling;
using VideoData.Training.Tests.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Alignment;

[Collection("TorchSharp training")]
public sealed class CaptionAlignerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-aligner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static double[] Curve(int window, Func<int, double> cosine) =>
        Enumerable.Range(-window, (2 * window) + 1).Select(cosine).ToArray();

    [Fact]
    public void Decide_PicksThePeakOffsetAndScoresItsCosine()
    {
        var video = AlignmentTestData.Video();
        var cosines = new[]
        {
            Curve(3, d => d == 2 ? 0.9 : 0.1),              // a clear peak two seconds later
            Curve(3, d => d is -1 or 1 ? 0.5 : 0.2),         // a tie: the earlier move wins (order 0, −1, +1, …)
            Curve(3, d => 0.4),                              // flat: no move
            Curve(3, d => d >= 2 ? double.NaN : -0.2 + (0.01 * d)), // candidates past the video's end are skipped
        };

        var rows = CaptionAligner.Decide("v", video.Segments, video.Seconds, cosines, window: 3, threshold: 0.3);

        Assert.Equal([2.0, -1.0, 0.0, 1.0], rows.Select(r => r.OffsetSeconds));
        Assert.Equal([0.9, 0.5, 0.4, -0.19], rows.Select(r => Math.Round(r.Score, 10)));
        Assert.Equal([true, true, true, false], rows.Select(r => r.Kept));
        Assert.Equal((3.0, 5.5), (rows[0].AlignedStart, rows[0].AlignedEnd));
        Assert.Equal((1.0, 3.5), (rows[0].OriginalStart, rows[0].OriginalEnd));
        Assert.Equal([0, 1, 2, 3], rows.Select(r => r.Segment));
    }

    [Fact]
    public void Decide_AllBelowThreshold_KeepsTheBestSegmentAndClampsToTheVideo()
    {
        var video = AlignmentTestData.Video();
        var cosines = new[] { Curve(2, d => d == -2 ? 0.2 : 0.0), Curve(2, _ => 0.1), Curve(2, _ => 0.25), Curve(2, _ => double.NaN) };

        var rows = CaptionAligner.Decide("v", video.Segments, video.Seconds, cosines, window: 2, threshold: 0.9);

        Assert.Equal([false, false, true, false], rows.Select(r => r.Kept));
        // Moved two seconds earlier from 1.0 the start would be −1: clamped to 0; the end moves by the same offset.
        Assert.Equal((0.0, 1.5), (rows[0].AlignedStart, rows[0].AlignedEnd));
        // No candidate inside the video: the lowest score, left in place.
        Assert.Equal((-1.0, 12.0), (rows[3].Score, rows[3].AlignedStart));
    }

    [Theory]
    [InlineData(1.0, 3.5, 0, 20, 1, 4)]
    [InlineData(1.0, 3.5, -3, 20, 0, 1)]
    [InlineData(1.0, 3.5, -4, 20, -1, -1)]
    [InlineData(18.2, 19.5, 2, 20, -1, -1)]
    [InlineData(18.2, 19.5, 1, 20, 19, 20)]
    [InlineData(5.0, 5.0, 0, 20, 5, 6)]
    public void CandidateSpan_IsTheMovedSecondsClampedToTheVideo(double start, double end, int offset, int seconds, int first, int last)
    {
        var span = CaptionAligner.CandidateSpan(start, end, offset, seconds);
        Assert.Equal(first < 0 ? null : (first, last), span);
    }

    [Fact]
    public async Task AlignAsync_SameModelAndVideos_SameTableAndModelModeRestored()
    {
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 6, FeatureDim = TinyRun.FeatureDim, MinSeconds = 10, MaxSeconds = 30, Seed = 2 });
        var store = new InMemoryVideoStore(videos);
        random.manual_seed(5);
        using var model = new VideoClipModel(VideoClipModelOptions.Tiny with { FeatureDim = TinyRun.FeatureDim });
        model.train();
        var sampler = new ClipSamplerOptions { FeatureDim = TinyRun.FeatureDim };
        var options = new AlignmentOptions { WindowSeconds = 4, Threshold = 0.2, BatchRows = 7, VideosPerChunk = 4, Threads = 1 };

        var first = await CaptionAligner.AlignAsync(store, model, sampler, options, "ckpt", 1);
        var second = await CaptionAligner.AlignAsync(store, model, sampler, options, "ckpt", 1);
        // Other batch sizes group the forward passes differently; the scores agree to float rounding.
        var regrouped = await CaptionAligner.AlignAsync(store, model, sampler, options with { BatchRows = 256, VideosPerChunk = 64 }, "ckpt", 1);

        Assert.True(model.training);
        Assert.Equal(first.Segments, second.Segments);
        Assert.Equal(first.Segments.Select(r => Math.Round(r.Score, 4)), regrouped.Segments.Select(r => Math.Round(r.Score, 4)));
        Assert.Equal(videos.Sum(v => v.Segments.Count), first.Segments.Count);
        Assert.Equal(videos.SelectMany(v => v.Segments.Select((s, i) => (v.VideoId, i, s.Start))), first.Segments.Select(r => (r.VideoId, r.Segment, r.OriginalStart)));
        Assert.All(first.Segments, r => Assert.InRange(r.Score, -1.0, 1.0));
        var seconds = videos.ToDictionary(v => v.VideoId, v => v.Seconds);
        Assert.All(first.Segments, r => Assert.True(0 <= r.AlignedStart && r.AlignedStart <= r.AlignedEnd && r.AlignedEnd <= seconds[r.VideoId], $"{r} lies outside its video"));
        // Moved by a whole number of seconds, unless clamped at the video's start.
        Assert.All(first.Segments.Where(r => r.AlignedStart > 0), r => Assert.Equal(Math.Round(r.OffsetSeconds), r.OffsetSeconds, 9));
        Assert.All(videos, v => Assert.Contains(first.Segments, r => r.VideoId == v.VideoId && r.Kept));
        Assert.Equal(new AlignmentLineage("ckpt", 1, 4, 0.2), first.Lineage);
    }

    [Fact]
    public async Task AlignAsync_TrainedTinyModel_RecoversShiftedSegmentsFarAboveChance()
    {
        const int dim = 256;
        var corpusOptions = new SyntheticCorpusOptions
        {
            Videos = 96,
            FeatureDim = dim,
            MinSeconds = 20,
            MaxSeconds = 60,
            VocabularySize = 100,
            WordsPerVideo = 6,
            Seed = 3,
            IdPrefix = "shift",
            ShiftFraction = 0.4,
        };
        var corpus = SyntheticCorpus.GenerateWithTruth(corpusOptions);
        var train = new InMemoryVideoStore(corpus.Videos);
        var run = new TinyRun();
        var trainerOptions = TinyRun.Options(Path.Combine(_dir, "run"), epochs: 3, batchVideos: 16) with { EvalVideos = 0 };
        // Tighter clips than pretraining's (video ≤ 8 s, text ≤ 16 tokens) teach the tiny model in three epochs where
        // things happen, not only what the video is about; 256-d word vectors are nearly orthogonal, so words stay apart.
        trainerOptions = trainerOptions with
        {
            Model = trainerOptions.Model with { FeatureDim = dim },
            Streamer = trainerOptions.Streamer with { Sampler = trainerOptions.Streamer.Sampler with { FeatureDim = dim, MaxVideoSeconds = 8, MaxTextTokens = 16 } },
        };
        using var trainer = run.Create(trainerOptions, train, heldOut: null);
        await trainer.RunAsync();

        // Align a third of the videos: enough shifted segments to measure, in about a second.
        var probe = new InMemoryVideoStore(corpus.Videos.Take(32));
        const int window = 8;
        var table = await CaptionAligner.AlignAsync(probe, trainer.Model, trainerOptions.Streamer.Sampler, new AlignmentOptions { WindowSeconds = window }, "test", null);

        var truth = corpus.Truth.ToDictionary(t => (t.VideoId, t.Segment));
        var shifted = table.Segments.Where(r => truth[(r.VideoId, r.Segment)].Kind == SyntheticSegmentKind.Shifted).ToList();
        var recovered = shifted.Count(r => Math.Abs(r.OffsetSeconds + truth[(r.VideoId, r.Segment)].OffsetSeconds) <= 1.0 + 1e-9) / (double)shifted.Count;
        var chance = 3.0 / ((2 * window) + 1);
        output.WriteLine($"{shifted.Count} shifted segments, recovered within ±1 s: {recovered:P1} (chance {chance:P1})");

        Assert.True(shifted.Count >= 50, $"{shifted.Count} shifted segments are too few to measure");
        Assert.True(recovered > 2.5 * chance, $"recovered {recovered:P1} of shifted segments within ±1 s; chance is {chance:P1}");
    }
}
