using Amazon.S3.Model;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Storage.Sharding;
using VideoData.Testing;
using VideoData.Testing.S3;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>The whole job over a real S3 server on loopback, with and without injected faults.</summary>
[Collection(PipelineCollection.Name)]
public sealed class PreprocessS3Tests
{
    private readonly S3ServerFixture _s3;

    public PreprocessS3Tests(S3ServerFixture s3) => _s3 = s3;

    [Fact]
    public async Task Preprocess_S3Corpus_EveryVideoInAShardOrInTheLedgerWithItsClass_AndDuckDbReadsTheShards()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var bucket = await _s3.CreateBucketAsync("e2e");
        var manifest = await PipelineCorpus.UploadAsync(_s3.Client, bucket, corpus);

        var summary = await RunAsync(_s3.Endpoint, manifest, $"s3://{bucket}/out");

        // Every manifest video is accounted for exactly once: done in a shard or failed with its class.
        var entries = summary.Ledgers.SelectMany(l => l.Videos).ToList();
        Assert.Equal(corpus.Videos, entries.Count);
        Assert.Equal(corpus.Videos, entries.Select(e => e.VideoId).Distinct().Count());
        foreach (var (id, failureClass) in PipelineCorpus.ExpectedFailures)
        {
            var entry = Assert.Single(entries, e => e.VideoId == id);
            Assert.Equal(LedgerEntry.Failed, entry.Status);
            Assert.Equal(failureClass, entry.FailureClass);
            Assert.Contains(id, entry.Message, StringComparison.Ordinal);
        }

        var local = await DownloadAsync(bucket, "out/shards/");
        var records = await PipelineCorpus.ReadShardsAsync(local);
        Assert.Equal(entries.Where(e => e.IsDone).Select(e => e.VideoId).Order(StringComparer.Ordinal), records.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(corpus.Videos - PipelineCorpus.ExpectedFailures.Count, records.Count);
        foreach (var record in records.Values)
        {
            Assert.Equal(2, record.Seconds);
            Assert.Equal(512, record.Dim);
            Assert.All(Enumerable.Range(0, record.Seconds), s =>
                Assert.Equal(1.0, Math.Sqrt(record.Features.Skip(s * 512).Take(512).Sum(v => (double)v * v)), 2));
            // Captions come through in all three formats, except the video whose caption file is garbage.
            if (corpus.BrokenCaptions.Contains(record.VideoId))
            {
                Assert.Empty(record.Captions);
            }
            else
            {
                Assert.Equal(3, record.Captions.Count);
                Assert.All(record.Captions, c => Assert.NotEmpty(c.TokenIds));
            }
        }

        // An independent reader sees the same rows.
        var duck = await DuckDb.QueryJsonAsync($"select video_id, seconds, len(features)::INTEGER as n, len(captions)::INTEGER as c from read_parquet('{local}/*.parquet') order by video_id");
        var rows = duck[0].EnumerateArray().ToList();
        Assert.Equal(records.Keys.Order(StringComparer.Ordinal), rows.Select(r => r.GetProperty("video_id").GetString()));
        Assert.All(rows, r => Assert.Equal(2 * 512, r.GetProperty("n").GetInt32()));
        Assert.All(rows, r => Assert.Equal(records[r.GetProperty("video_id").GetString()!].Captions.Count, r.GetProperty("c").GetInt32()));

        // Stats per shard.
        var stats = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "out/stats/" });
        Assert.Equal(summary.Shards, stats.S3Objects.Count);
        // No work files are left behind.
        var work = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "out/_work/" });
        Assert.Empty(work.S3Objects ?? []);
    }

    [Fact]
    public async Task Preprocess_TenPercentFaults_SameOutputsAsWithoutFaults()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var bucket = await _s3.CreateBucketAsync("faults");
        var manifest = await PipelineCorpus.UploadAsync(_s3.Client, bucket, corpus);
        await RunAsync(_s3.Endpoint, manifest, $"s3://{bucket}/clean");

        await using var proxy = FaultInjectingProxy.Start(_s3.Endpoint, new FaultProxyOptions
        {
            FaultRate = 0.10,
            Seed = 17,
            Faults = [ProxyFault.InternalError, ProxyFault.SlowDown, ProxyFault.ResetMidBody, ProxyFault.Stall],
            StallDuration = TimeSpan.FromSeconds(3),
        });
        var faulty = await RunAsync(proxy.Endpoint, manifest, $"s3://{bucket}/faulty", "s3.max_concurrency=4");

        Assert.True(proxy.InjectedTotal > 0, "the proxy injected no faults");
        Assert.True(faulty.Storage.Retries > 0, "no retries were counted");
        var clean = await PipelineCorpus.ReadShardsAsync(await DownloadAsync(bucket, "clean/shards/"));
        var withFaults = await PipelineCorpus.ReadShardsAsync(await DownloadAsync(bucket, "faulty/shards/"));
        PipelineCorpus.AssertSameContent(clean, withFaults);
        Assert.Equal(PipelineCorpus.ExpectedFailures.Keys.Order(StringComparer.Ordinal), faulty.Ledgers.SelectMany(l => l.Failed).Select(e => e.VideoId).Order(StringComparer.Ordinal));
    }

    private async Task<PreprocessSummary> RunAsync(Uri endpoint, string manifest, string output, params string[] extra)
    {
        var definition = PipelineCorpus.Definition(manifest, output, [
            $"s3.endpoint_url=\"{endpoint}\"", "s3.force_path_style=true", "s3.use_chunk_encoding=false", "s3.checksum_mode=\"when_required\"", .. extra]);
        var previous = (Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY"));
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3ServerFixture.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3ServerFixture.SecretKey);
        try
        {
            return await Preprocessor.RunAsync(definition, WorkerSlot.Single, retryFailed: false, new PipelineProgress(), _ => { });
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", previous.Item1);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", previous.Item2);
        }
    }

    private async Task<string> DownloadAsync(string bucket, string prefix)
    {
        var folder = Directory.CreateTempSubdirectory("videodata-shards-").FullName;
        var listing = await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        foreach (var item in listing.S3Objects ?? [])
        {
            using var response = await _s3.Client.GetObjectAsync(bucket, item.Key);
            await using var file = File.Create(Path.Combine(folder, Path.GetFileName(item.Key)));
            await response.ResponseStream.CopyToAsync(file);
        }

        return folder;
    }
}

/// <summary>The pipeline tests run one at a time (libtorch, FFmpeg, child processes) and share one s3rver.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PipelineCollection : ICollectionFixture<S3ServerFixture>
{
    public const string Name = "pipeline (libtorch, ffmpeg, processes)";
}
