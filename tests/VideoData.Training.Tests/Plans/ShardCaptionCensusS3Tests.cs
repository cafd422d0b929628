using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing.S3;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Tests.Data;
using Xunit.Abstractions;

namespace VideoData.Training.Tests.Plans;

/// <summary>The caption census over feature shards on a real S3 server (s3rver on loopback).</summary>
[Collection(TrainingS3Collection.Name)]
public sealed class ShardCaptionCensusS3Tests(S3ServerFixture server, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-census-s3-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task CountAsync_FromS3_FindsTheCaptionlessVideosReadingAFractionOfTheShard()
    {
        var corpus = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 64, FeatureDim = 512, MinSeconds = 40, MaxSeconds = 80, Seed = 6 }).ToList();
        var silent = new[] { 0, 17, 63 }.Select(i => corpus[i].VideoId).ToHashSet(StringComparer.Ordinal);
        corpus = corpus.Select(v => silent.Contains(v.VideoId) ? v with { Segments = [] } : v).ToList();
        var paths = await SyntheticShards.WriteAsync(corpus, _dir, 64, new FeatureShardWriterOptions { VideosPerRowGroup = 16 });

        var bucket = await server.CreateBucketAsync("census");
        var options = S3StoreOptions.ForCompatibleServer(server.Endpoint);
        options.Credentials = S3ServerFixture.Credentials;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var (blobs, prefix) = resolver.Resolve($"s3://{bucket}/features/");
        foreach (var path in paths)
        {
            await blobs.WriteFileAsync($"{prefix}{Path.GetFileName(path)}", path);
        }

        var before = blobs.Counters.BytesRead;
        var (videos, without) = await ShardCaptionCensus.CountAsync(blobs, prefix);
        var read = blobs.Counters.BytesRead - before;
        var size = new FileInfo(paths[0]).Length;
        output.WriteLine($"census read {read} of {size} shard bytes ({(double)read / size:P1})");

        Assert.Equal(64, videos);
        Assert.Equal(silent.Order(StringComparer.Ordinal), without.Order(StringComparer.Ordinal));
        Assert.True(read < size / 2, $"the census read {read} of {size} shard bytes");
    }
}
