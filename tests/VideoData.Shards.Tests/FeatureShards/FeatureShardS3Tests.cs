using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing.S3;
using Xunit.Abstractions;

namespace VideoData.Shards.Tests.FeatureShards;

[CollectionDefinition(Name)]
public sealed class FeatureShardS3Collection : ICollectionFixture<S3ServerFixture>
{
    public const string Name = "features-s3";
}

/// <summary>Feature shards on a real S3 server (s3rver on loopback) through the storage layer.</summary>
[Collection(FeatureShardS3Collection.Name)]
public sealed class FeatureShardS3Tests(S3ServerFixture server, ITestOutputHelper output)
{
    [Fact]
    public async Task ReadVideo_FromS3_FetchesFarLessThanTheWholeShard()
    {
        var bucket = await server.CreateBucketAsync("features");
        var options = S3StoreOptions.ForCompatibleServer(server.Endpoint);
        options.Credentials = S3ServerFixture.Credentials;
        options.ReadChunkSize = 256 * 1024;

        // No speculative read-ahead, so the bytes fetched depend only on what the reader asks for.
        options.ReadAheadChunks = 0;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var (store, key) = resolver.Resolve($"s3://{bucket}/shards/part-00000.parquet");
        var records = Enumerable.Range(0, 64).Select(i => FeatureShardTests.MakeRecord($"video-{i:D3}", 60, mixed: false, captions: 5, seed: i)).ToList();
        await using (var writer = FeatureShardWriter.CreateBlob(store, key, new ShardLineage { WeightsSha256 = new string('c', 64) }, new FeatureShardWriterOptions { VideosPerRowGroup = 8, Storage = FeatureStorage.Float32 }))
        {
            foreach (var r in records)
            {
                await writer.AddAsync(r);
            }

            Assert.False(await store.ExistsAsync(key));
            await writer.CompleteAsync();
        }

        var size = (await store.StatAsync(key))!.Length;
        var before = store.Counters.BytesRead;
        FeatureRecord read;
        await using (var stream = await store.OpenReadAsync(key))
        await using (var reader = await FeatureShardReader.OpenAsync(stream, store.UriOf(key)))
        {
            Assert.Equal(8, reader.RowGroupCount);
            read = await reader.ReadVideoAsync("video-042");
        }

        var fetched = store.Counters.BytesRead - before;
        output.WriteLine($"fetched {fetched} of {size} bytes ({100.0 * fetched / size:F1}%) to read one of 64 videos");
        Assert.Equal(records[42].Features, read.Features);
        Assert.Equal(records[42].Captions, read.Captions);

        // Footer plus one row group of 8 of the 64 videos (12.5%) and the minimum range per seek, not the shard.
        Assert.True(fetched < size * 0.3, $"read {fetched} of {size} bytes to fetch one video");
    }
}
