using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;

namespace VideoData.Training.Tests;

/// <summary>
/// Training's public surface is the library API of DESIGN §1 job 2 (shards → ready batches) plus the data types the
/// reports read; the trainer, planners, samplers, stores and collectives are internal, reached by the CLI and the tests
/// through InternalsVisibleTo.
/// </summary>
public sealed class PublicSurfaceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-public-surface-").FullName;
    private readonly BlobStoreResolver _resolver = new(new BlobStoreOptions());

    public void Dispose()
    {
        _resolver.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void PublicTypes_AreTheLibraryApiAndTheDataTheReportsRead()
    {
        string[] expected =
        [
            "VideoData.Training.Data.FeatureShardStoreOptions", "VideoData.Training.Data.IShardVideoStore", "VideoData.Training.Data.IVideoStore",
            "VideoData.Training.Data.VideoRecord", "VideoData.Training.Data.VideoStores",
            "VideoData.Training.Plans.BatchPlan", "VideoData.Training.Plans.BatchPlanKinds",
            "VideoData.Training.Retrieval.BatchSimilarity", "VideoData.Training.Retrieval.EmbeddingLineage", "VideoData.Training.Retrieval.EmbeddingsFile",
            "VideoData.Training.Retrieval.VideoEmbeddings",
            "VideoData.Training.Sampling.ClipAlignment", "VideoData.Training.Sampling.ClipSamplerOptions", "VideoData.Training.Sampling.ClipSpan",
            "VideoData.Training.Streaming.BatchStreamer", "VideoData.Training.Streaming.BatchStreamerOptions", "VideoData.Training.Streaming.ClipBatch",
        ];

        var exported = typeof(VideoRecord).Assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal);

        Assert.Equal(expected.Order(StringComparer.Ordinal), exported);
    }

    [Fact]
    public async Task LibraryApi_ShardsToBatches_StreamsEveryPlannedVideo()
    {
        var videos = Sampling.OverlappedClipSamplerTests.AwkwardVideos();
        await SyntheticShards.WriteAsync(videos, _dir, videosPerShard: 16);
        var (blobs, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);

        await using var store = await VideoStores.OpenFeatureShardsAsync(blobs, key, new FeatureShardStoreOptions { FeatureDim = 8 });
        var plan = BatchPlan.Shuffled(store.VideoIds, 8, seed: 3, epoch: 0);
        var options = new BatchStreamerOptions { Sampler = new ClipSamplerOptions { FeatureDim = 8, ClipsPerVideo = 4 } };
        var streamed = new List<string>();
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, options))
        {
            using (batch)
            {
                streamed.AddRange(batch.VideoIds);
            }
        }

        Assert.Equal(videos.Select(v => v.VideoId).Order(StringComparer.Ordinal), store.VideoIds.Order(StringComparer.Ordinal));
        Assert.Equal(plan.Batches.SelectMany(b => b).Order(StringComparer.Ordinal), streamed.Distinct().Order(StringComparer.Ordinal));
        // Shards store features rounded to float16 precision by default.
        Assert.Equal(videos[0].Features.Select(v => (float)(Half)v), (await store.GetAsync(videos[0].VideoId)).Features);
    }
}
