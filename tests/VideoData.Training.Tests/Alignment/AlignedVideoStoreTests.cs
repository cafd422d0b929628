using VideoData.Training.Alignment;
using VideoData.Training.Data;
using VideoData.Training.Sampling;

namespace VideoData.Training.Tests.Alignment;

public sealed class AlignedVideoStoreTests
{
    private static readonly ClipSamplerOptions s_sampler = new() { FeatureDim = AlignmentTestData.FeatureDim, ClipsPerVideo = 32, MinTextTokens = 1, MaxTextTokens = 3 };

    [Fact]
    public async Task GetAsync_WithoutTable_ReturnsTheOriginalCaptions()
    {
        var original = AlignmentTestData.Video();
        var store = new AlignedVideoStore(new InMemoryVideoStore([original]));

        var video = await store.GetAsync("v");

        Assert.Same(original, video);
        Assert.Null(store.Table);
    }

    [Fact]
    public async Task GetAsync_WithTable_KeepsOnlyKeptSegmentsAtAlignedTimesInTimeOrder()
    {
        var original = AlignmentTestData.Video();
        var store = new AlignedVideoStore(new InMemoryVideoStore([original]));
        store.Use(AlignmentTestData.Table());

        var video = await store.GetAsync("v");

        // Segment 0 moved to [11, 13.5) now sorts after segment 2; segment 1 is gone.
        Assert.Equal([(7.2, 9.9), (11.0, 13.5), (12.0, 15.0)], video.Segments.Select(s => (s.Start, s.End)));
        Assert.Equal([202, 200, 203], video.Segments.Select(s => s.TokenIds[0]));
        Assert.Same(original.Features, video.Features);
    }

    [Fact]
    public async Task Sampler_OnAlignedStore_DrawsOnlyKeptSegmentsAndItsClipsCoverTheAlignedSeconds()
    {
        var store = new AlignedVideoStore(new InMemoryVideoStore([AlignmentTestData.Video()]));
        store.Use(AlignmentTestData.Table());
        var video = await store.GetAsync("v");
        var sampler = new OverlappedClipSampler(s_sampler);

        var caps = new long[s_sampler.CaptionLength];
        var cmasks = new bool[s_sampler.CaptionLength];
        var seenTokens = new HashSet<long>();
        foreach (var epoch in Enumerable.Range(0, 4))
        {
            foreach (var clip in sampler.Sample(video, seed: 3, epoch, ClipAlignment.Aligned))
            {
                sampler.WriteCaption(video, clip, caps, cmasks);
                seenTokens.UnionWith(caps.Where(t => t >= 200));
                // An aligned clip's video is the text span's aligned seconds.
                Assert.Equal((int)Math.Floor(video.Segments[clip.TextStart].Start), clip.VideoStart);
                Assert.Equal((int)Math.Ceiling(video.Segments[clip.TextEnd - 1].End), clip.VideoEnd);
            }
        }

        Assert.DoesNotContain(201L, seenTokens);
        Assert.Equal([200L, 202L, 203L], seenTokens.Order());

        // The moved segment alone: its clip is its aligned seconds [11, 14), features 11..13, not the original [1, 4).
        var alone = sampler.Sample(video, 3, 0, ClipAlignment.Aligned).First(c => c.TextStart == 1 && c.TextEnd == 2);
        var vfeats = new float[s_sampler.MaxVideoTokens * AlignmentTestData.FeatureDim];
        var vmasks = new bool[s_sampler.MaxVideoTokens];
        var rows = sampler.WriteVideo(video, alone, vfeats, vmasks);
        Assert.Equal(3, rows);
        Assert.Equal([11f, 12f, 13f], Enumerable.Range(0, rows).Select(r => vfeats[r * AlignmentTestData.FeatureDim]));
    }

    [Fact]
    public async Task GetAsync_TableForOtherCaptions_NamesTheVideo()
    {
        var store = new AlignedVideoStore(new InMemoryVideoStore([AlignmentTestData.Video("v"), AlignmentTestData.Video("w")]));
        var table = AlignmentTestData.Table();
        store.Use(table with { Segments = table.Segments.Take(3).ToList() });
        var fewer = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetAsync("v").AsTask());
        Assert.Contains("'v'", fewer.Message, StringComparison.Ordinal);
        Assert.Contains("3 rows", fewer.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetAsync("w").AsTask());
        Assert.Contains("'w'", missing.Message, StringComparison.Ordinal);

        store.Use(table with { Segments = table.Segments.Select(s => s with { OriginalStart = s.OriginalStart + 1 }).ToList() });
        var moved = await Assert.ThrowsAsync<InvalidDataException>(() => store.GetAsync("v").AsTask());
        Assert.Contains("other captions", moved.Message, StringComparison.Ordinal);

        store.Use(null);
        Assert.Equal(4, (await store.GetAsync("v")).Segments.Count);
    }
}
