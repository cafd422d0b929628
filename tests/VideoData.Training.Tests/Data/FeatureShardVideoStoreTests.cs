using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;

namespace VideoData.Training.Tests.Data;

public sealed class FeatureShardVideoStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-shardstore-").FullName;
    private readonly BlobStoreResolver _resolver = new(new BlobStoreOptions());

    public void Dispose()
    {
        _resolver.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static IReadOnlyList<VideoRecord> Corpus() => SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 45, FeatureDim = 16, MinSeconds = 5, MaxSeconds = 40, Seed = 8 });

    private async Task<FeatureShardVideoStore> OpenAsync(FeatureShardStoreOptions? options = null)
    {
        var (store, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);
        return await FeatureShardVideoStore.OpenAsync(store, key, options ?? new FeatureShardStoreOptions { FeatureDim = 16 });
    }

    [Fact]
    public async Task GetAsync_ReturnsWhatWasWritten_AndReadsEachRowGroupOnce()
    {
        var corpus = Corpus();
        await SyntheticShards.WriteAsync(corpus, _dir, 20, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32, VideosPerRowGroup = 4 });
        await using var store = await OpenAsync();
        Assert.Equal(corpus.Select(v => v.VideoId).Order(StringComparer.Ordinal), store.VideoIds.Order(StringComparer.Ordinal));

        // A shuffled order, as an epoch reads them.
        var order = BatchPlan.Shuffled(store.VideoIds, 45, 1, 0).Batches[0];
        foreach (var id in order)
        {
            var expected = corpus.Single(v => v.VideoId == id);
            var actual = await store.GetAsync(id);
            Assert.Equal(expected.Features, actual.Features);
            Assert.Equal(expected.Segments.Count, actual.Segments.Count);
            for (var i = 0; i < expected.Segments.Count; i++)
            {
                Assert.Equal(expected.Segments[i].Start, actual.Segments[i].Start);
                Assert.Equal(expected.Segments[i].End, actual.Segments[i].End);
                Assert.Equal(expected.Segments[i].TokenIds, actual.Segments[i].TokenIds);
            }
        }

        var cold = store.Stats;
        Assert.Equal(12, cold.RowGroupsRead); // 20 + 20 + 5 videos in row groups of 4: 5 + 5 + 2
        Assert.Equal(45 - 12, cold.CacheHits);
        Assert.InRange((double)cold.BytesRead / cold.ShardBytes, 0.5, 1.5);

        foreach (var id in order)
        {
            await store.GetAsync(id);
        }

        var warm = store.Stats;
        Assert.Equal(cold.BytesRead, warm.BytesRead);
        Assert.Equal(cold.RowGroupsRead, warm.RowGroupsRead);
    }

    [Fact]
    public async Task StreamAsync_FromShards_EqualsStreamFromMemory()
    {
        var corpus = Corpus();
        await SyntheticShards.WriteAsync(corpus, _dir, 16, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32 });
        await using var shards = await OpenAsync(new FeatureShardStoreOptions { FeatureDim = 16, CacheBytes = 0 });
        var memory = new InMemoryVideoStore(corpus);
        var plan = BatchPlan.Shuffled(memory.VideoIds, 8, 2, 1);
        var options = new BatchStreamerOptions { Sampler = new ClipSamplerOptions { FeatureDim = 16, ClipsPerVideo = 3 } };
        var fromShards = new List<float[]>();
        await foreach (var batch in BatchStreamer.StreamAsync(shards, plan, options))
        {
            using (batch)
            {
                fromShards.Add(batch.Vfeats.data<float>().ToArray());
                fromShards.Add(batch.Caps.to_type(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray());
            }
        }

        var fromMemory = new List<float[]>();
        await foreach (var batch in BatchStreamer.StreamAsync(memory, plan, options))
        {
            using (batch)
            {
                fromMemory.Add(batch.Vfeats.data<float>().ToArray());
                fromMemory.Add(batch.Caps.to_type(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray());
            }
        }

        Assert.Equal(fromMemory, fromShards);
        Assert.Equal(0, shards.Stats.CachedBytes);
    }

    [Fact]
    public async Task GetAsync_OverTheMemoryBudget_ServesLaterReadsFromTheDiskCache()
    {
        var corpus = Corpus();
        await SyntheticShards.WriteAsync(corpus, _dir, 45, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32, VideosPerRowGroup = 5 });
        var disk = Path.Combine(_dir, "cache");
        await using var store = await OpenAsync(new FeatureShardStoreOptions { FeatureDim = 16, CacheBytes = 20_000, DiskCacheDirectory = disk });
        foreach (var id in store.VideoIds)
        {
            await store.GetAsync(id);
        }

        var cold = store.Stats;
        Assert.Equal(9, cold.RowGroupsRead);
        Assert.True(cold.CachedBytes <= 20_000);
        Assert.True(Directory.GetFiles(disk, "*.video").Length > 20, "videos beyond the memory budget go to the disk cache");

        foreach (var id in store.VideoIds)
        {
            var video = await store.GetAsync(id);
            var expected = corpus.Single(v => v.VideoId == id);
            Assert.Equal(expected.Features, video.Features);
            Assert.Equal(expected.Segments.SelectMany(s => s.TokenIds), video.Segments.SelectMany(s => s.TokenIds));
            Assert.Equal(expected.Segments.Select(s => (s.Start, s.End)), video.Segments.Select(s => (s.Start, s.End)));
        }

        var warm = store.Stats;
        Assert.Equal(cold.RowGroupsRead, warm.RowGroupsRead);
        Assert.Equal(cold.BytesRead, warm.BytesRead);
        Assert.True(warm.DiskHits > 20);
    }

    [Fact]
    public async Task OpenAsync_NoShardsOrWrongWidth_FailsNamingTheProblem()
    {
        var empty = await Assert.ThrowsAsync<FileNotFoundException>(() => OpenAsync());
        Assert.Contains("No feature shards", empty.Message, StringComparison.Ordinal);

        await SyntheticShards.WriteAsync(Corpus().Take(3).ToList(), _dir, 3);
        await using var store = await OpenAsync(new FeatureShardStoreOptions { FeatureDim = 512 });
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () => await store.GetAsync(store.VideoIds[0]));
        Assert.Contains("16-d", ex.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<KeyNotFoundException>(async () => await store.GetAsync("absent"));
        Assert.Contains("absent", missing.Message, StringComparison.Ordinal);
    }
}
