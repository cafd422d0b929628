using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing.S3;
using VideoData.Training.Data;
using VideoData.Training.Plans;

namespace VideoData.Training.Tests.Data;

[CollectionDefinition(Name)]
public sealed class TrainingS3Collection : ICollectionFixture<S3ServerFixture>
{
    public const string Name = "training-s3";
}

/// <summary>The training store over feature shards on a real S3 server (s3rver on loopback).</summary>
[Collection(TrainingS3Collection.Name)]
public sealed class FeatureShardVideoStoreS3Tests(S3ServerFixture server) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-shardstore-s3-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task GetAsync_FromS3_ReadsEachRowGroupOnceAndReturnsWhatWasWritten()
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 30, FeatureDim = 16, MinSeconds = 5, MaxSeconds = 30, Seed = 4 });
        var paths = await SyntheticShards.WriteAsync(corpus, _dir, 15, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32, VideosPerRowGroup = 5 });

        var bucket = await server.CreateBucketAsync("training");
        var options = S3StoreOptions.ForCompatibleServer(server.Endpoint);
        options.Credentials = S3ServerFixture.Credentials;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var (blobs, prefix) = resolver.Resolve($"s3://{bucket}/features/");
        foreach (var path in paths)
        {
            await blobs.WriteFileAsync($"{prefix}{Path.GetFileName(path)}", path);
        }

        await using var store = await FeatureShardVideoStore.OpenAsync(blobs, prefix, new FeatureShardStoreOptions { FeatureDim = 16 });
        Assert.Equal(30, store.VideoIds.Count);
        foreach (var id in BatchPlan.Shuffled(store.VideoIds, 30, 0, 0).Batches[0])
        {
            var video = await store.GetAsync(id);
            Assert.Equal(corpus.Single(v => v.VideoId == id).Features, video.Features);
        }

        var stats = store.Stats;
        Assert.Equal(6, stats.RowGroupsRead);
        Assert.InRange((double)stats.BytesRead / stats.ShardBytes, 0.5, 2.0);
    }
}
