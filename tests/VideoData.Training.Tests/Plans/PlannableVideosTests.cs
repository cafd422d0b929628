using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;

namespace VideoData.Training.Tests.Plans;

public sealed class PlannableVideosTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-plannable-").FullName;
    private readonly BlobStoreResolver _resolver = new(new BlobStoreOptions());

    public void Dispose()
    {
        _resolver.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static List<VideoRecord> WithoutCaptions(IReadOnlyList<VideoRecord> videos, params int[] indices) =>
        videos.Select((v, i) => indices.Contains(i) ? v with { Segments = [] } : v).ToList();

    [Fact]
    public async Task ScreenAsync_ShardVideoWithoutCaptions_IsLeftOutAndTheRestStream()
    {
        var videos = WithoutCaptions(Sampling.OverlappedClipSamplerTests.AwkwardVideos(), 7);
        await SyntheticShards.WriteAsync(videos, _dir, videosPerShard: 16);
        var (blobs, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);
        await using var store = await FeatureShardVideoStore.OpenAsync(blobs, key, new FeatureShardStoreOptions { FeatureDim = 8 });
        var options = new BatchStreamerOptions { Sampler = new ClipSamplerOptions { FeatureDim = 8, ClipsPerVideo = 4 } };

        // Without screening, the plan holds the video and the stream stops at it.
        var unscreened = BatchPlan.Shuffled(store.VideoIds, 8, 1, 0);
        var failure = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var batch in BatchStreamer.StreamAsync(store, unscreened, options))
            {
                batch.Dispose();
            }
        });
        Assert.Contains(videos[7].VideoId, failure.Message, StringComparison.Ordinal);

        var screened = await PlannableVideos.ScreenAsync(store);
        Assert.Equal([videos[7].VideoId], screened.WithoutCaptions);
        Assert.Equal(60, screened.Screened);
        Assert.Equal(store.VideoIds.Where(id => id != videos[7].VideoId), screened.Store.VideoIds);
        Assert.Equal($"skipped 1 video without captions ({videos[7].VideoId}) of 60", screened.Describe());
        Assert.Throws<KeyNotFoundException>(() => screened.Store.GetAsync(videos[7].VideoId).AsTask().GetAwaiter().GetResult());

        var plan = BatchPlan.Shuffled(screened.Store.VideoIds, 8, 1, 0);
        var clips = 0;
        await foreach (var batch in BatchStreamer.StreamAsync(screened.Store, plan, options))
        {
            using (batch)
            {
                clips += batch.ClipCount;
            }
        }

        Assert.Equal(59 * 4, clips);
    }

    [Fact]
    public async Task ShardCaptionCensus_FindsWhatAFullReadFinds_WithoutReadingTheFeatures()
    {
        // Captionless videos at a shard's first row, last row, and in several row groups and shards.
        var videos = WithoutCaptions(Sampling.OverlappedClipSamplerTests.AwkwardVideos(), 0, 15, 16, 17, 31, 40, 59);
        await SyntheticShards.WriteAsync(videos, _dir, videosPerShard: 16, new VideoData.Shards.FeatureShardWriterOptions { VideosPerRowGroup = 4 });
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a shard");
        var (blobs, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);
        await using var store = await FeatureShardVideoStore.OpenAsync(blobs, key, new FeatureShardStoreOptions { FeatureDim = 8 });

        var before = blobs.Counters.BytesRead;
        var (count, without) = await ShardCaptionCensus.CountAsync(blobs, key);
        var censusBytes = blobs.Counters.BytesRead - before;
        var shardBytes = Directory.GetFiles(_dir, "*.parquet").Sum(f => new FileInfo(f).Length);

        var screened = await PlannableVideos.ScreenAsync(store);
        Assert.Equal(60, count);
        Assert.Equal(screened.WithoutCaptions.Order(StringComparer.Ordinal), without.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { 0, 15, 16, 17, 31, 40, 59 }.Select(i => videos[i].VideoId).Order(StringComparer.Ordinal), without.Order(StringComparer.Ordinal));
        var excluded = PlannableVideos.Exclude(store, without);
        Assert.Equal(screened.Store.VideoIds, excluded.Store.VideoIds);
        Assert.Equal(screened.WithoutCaptions, excluded.WithoutCaptions);
        Assert.True(censusBytes < shardBytes / 2, $"the census read {censusBytes} of {shardBytes} shard bytes");
    }

    [Fact]
    public async Task ScreenAsync_AllCaptioned_KeepsTheStoreAndReportsNothing()
    {
        var store = new InMemoryVideoStore(Sampling.OverlappedClipSamplerTests.AwkwardVideos());
        var screened = await PlannableVideos.ScreenAsync(store, parallelism: 1);
        Assert.Same(store, screened.Store);
        Assert.Empty(screened.WithoutCaptions);
        Assert.Equal(string.Empty, screened.Describe());
    }

    [Fact]
    public async Task ScreenAsync_ManySkipped_DescribesAFewAndCountsAll()
    {
        var store = new InMemoryVideoStore(WithoutCaptions(Sampling.OverlappedClipSamplerTests.AwkwardVideos(), 1, 2, 3, 4, 5, 6, 7));
        var screened = await PlannableVideos.ScreenAsync(store);
        Assert.Equal(7, screened.WithoutCaptions.Count);
        Assert.EndsWith(", … 4 more) of 60", screened.Describe(maxIds: 3), StringComparison.Ordinal);
        Assert.StartsWith("skipped 7 videos without captions (", screened.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScreenAsync_NoVideoHasCaptions_Throws()
    {
        var store = new InMemoryVideoStore(WithoutCaptions(Sampling.OverlappedClipSamplerTests.AwkwardVideos().Take(3).ToList(), 0, 1, 2));
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => PlannableVideos.ScreenAsync(store));
        Assert.Contains("None of the 3 videos", ex.Message, StringComparison.Ordinal);
    }
}
