using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;

namespace VideoData.Training.Tests.Data;

/// <summary>Many assemblers asking the store at once: each row group is read once and every caller gets its video.</summary>
public sealed class FeatureShardVideoStoreConcurrencyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-shardstore-par-").FullName;
    private readonly BlobStoreResolver _resolver = new(new BlobStoreOptions());

    public void Dispose()
    {
        _resolver.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ConcurrentGets_ReadEachRowGroupOnce_AndReturnEveryVideo(int readersPerShard)
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 45, FeatureDim = 16, MinSeconds = 5, MaxSeconds = 40, Seed = 21 });
        await SyntheticShards.WriteAsync(corpus, _dir, 20, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32, VideosPerRowGroup = 4 });
        var (blobs, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);
        await using var store = await FeatureShardVideoStore.OpenAsync(blobs, key, new FeatureShardStoreOptions { FeatureDim = 16, ReadersPerShard = readersPerShard });

        // Every video asked for three times at once, from pool threads.
        var ids = corpus.Select(v => v.VideoId).ToList();
        var asks = ids.Concat(ids).Concat(ids).Select(id => Task.Run(async () => (Id: id, Video: await store.GetAsync(id)))).ToList();
        var answers = await Task.WhenAll(asks);

        foreach (var (id, video) in answers)
        {
            var expected = corpus.Single(v => v.VideoId == id);
            Assert.Equal(id, video.VideoId);
            Assert.Equal(expected.Features, video.Features);
            Assert.Equal(expected.Segments.Select(s => s.TokenIds.Length), video.Segments.Select(s => s.TokenIds.Length));
        }

        var stats = store.Stats;
        Assert.Equal(12, stats.RowGroupsRead); // 20 + 20 + 5 videos in row groups of 4: 5 + 5 + 2
        Assert.Equal(135, stats.VideosServed);
    }

    [Fact]
    public async Task ConcurrentGets_WithNoCacheBudget_StillAnswerEveryCaller()
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 12, FeatureDim = 16, MinSeconds = 5, MaxSeconds = 20, Seed = 22 });
        await SyntheticShards.WriteAsync(corpus, _dir, 12, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32, VideosPerRowGroup = 6 });
        var (blobs, key) = _resolver.Resolve(new Uri(_dir + "/").AbsoluteUri);
        await using var store = await FeatureShardVideoStore.OpenAsync(blobs, key, new FeatureShardStoreOptions { FeatureDim = 16, CacheBytes = 0 });

        var answers = await Task.WhenAll(corpus.Select(v => Task.Run(async () => await store.GetAsync(v.VideoId))));

        Assert.Equal(corpus.Select(v => v.Features), answers.Select(v => v.Features));
        Assert.Equal(0, store.Stats.CacheHits);
        Assert.Equal(0, store.Stats.CachedBytes);
        Assert.InRange(store.Stats.RowGroupsRead, 2, 12);
    }
}
